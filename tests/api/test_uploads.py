"""Uploads over the limits are refused while they arrive, with the reason, and nothing is stored."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from api.uploads import LimitedUploadHandler, UploadTooLargeError
from engine.models import Document
from processes.models import ProcessDefinition
from tests.conftest import PDF, client_for, library_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]



class _CountingStream(io.BytesIO):
    """A request body that counts how much of it was read."""

    def __init__(self, data):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_a_file_over_the_limit_is_refused_before_it_is_read_whole(settings):
    """A 4 MiB file against a 64 KiB limit: the parser stops after the first chunks past the limit."""
    settings.ENGINE_UPLOAD_MAX_BYTES = 64 * 1024
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("big.pdf", PDF + b"\x00" * (4 * 1024 * 1024))})
    stream = _CountingStream(body)
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    parser = MultiPartParser(meta, stream, [LimitedUploadHandler()])
    with pytest.raises(UploadTooLargeError, match="'big.pdf' is larger than the limit of 0.1 MB"):
        parser.parse()
    assert stream.bytes_read < 512 * 1024


def test_the_api_answers_400_with_the_reason_and_stores_nothing(permit, applicant, settings):
    from engine.services import instance_start

    settings.ENGINE_UPLOAD_MAX_BYTES = 64 * 1024
    instance = instance_start(definition=permit, data={}, actor=applicant)
    big = SimpleUploadedFile("scan.pdf", PDF + b"\x00" * (256 * 1024), "application/pdf")
    response = client_for(applicant).post(f"/api/v1/process-instances/{instance.pk}/documents/", {"file": big},
                                          format="multipart")
    assert response.status_code == 400
    assert "'scan.pdf' is larger than the limit of 0.1 MB" in response.json()["detail"]
    assert not Document.objects.exists() and not list(settings.MEDIA_ROOT.rglob("*.*"))


def test_a_model_upload_over_the_limit_is_refused_and_one_within_it_deploys(analyst, settings):
    content = library_bytes("permit_application/permit_application.bpmn")
    settings.ENGINE_UPLOAD_MAX_BYTES = len(content) - 1
    client = client_for(analyst)
    response = client.post("/api/v1/process-definitions/",
                           {"file": SimpleUploadedFile("permit.bpmn", content)}, format="multipart")
    assert response.status_code == 400 and "is larger than the limit" in response.json()["detail"]
    assert not ProcessDefinition.objects.exists()
    settings.ENGINE_UPLOAD_MAX_BYTES = len(content)
    response = client.post("/api/v1/process-definitions/",
                           {"file": SimpleUploadedFile("permit.bpmn", content)}, format="multipart")
    assert response.status_code == 201, response.json()


def test_a_request_declaring_more_than_the_request_limit_is_refused_unread(analyst, settings):
    """Forms and decisions beside the model: each small, together over ENGINE_UPLOAD_REQUEST_MAX_BYTES."""
    settings.ENGINE_UPLOAD_REQUEST_MAX_BYTES = 100 * 1024
    forms = [SimpleUploadedFile(f"form_{n}.json", b"{}" + b" " * (40 * 1024)) for n in range(3)]
    response = client_for(analyst).post(
        "/api/v1/process-definitions/",
        {"file": SimpleUploadedFile("permit.bpmn", library_bytes("permit_application/permit_application.bpmn")),
         "forms": forms}, format="multipart")
    assert response.status_code == 400
    assert "uploads may be at most 0.1 MB in all" in response.json()["detail"]
    assert not ProcessDefinition.objects.exists()
