"""Documents and comments through the API: round trip, refusals, permission boundaries, history."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from engine.models import Document, HumanTask
from engine.services import instance_start
from tests.conftest import PDF, client_for, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17


@pytest.fixture
def instance(permit, applicant):
    return instance_start(definition=permit, data={}, actor=applicant)


@pytest.fixture
def task(instance):
    return HumanTask.objects.get(instance=instance, element_id="check_completeness")


def _upload(client, url, name="KTP Budi.pdf", content=PDF, content_type="application/pdf"):
    return client.post(url, {"file": SimpleUploadedFile(name, content, content_type)}, format="multipart")


def _documents_url(instance):
    return f"/api/v1/process-instances/{instance.pk}/documents/"


def _comments_url(instance):
    return f"/api/v1/process-instances/{instance.pk}/comments/"


def _stored_files(media_root):
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def test_upload_and_download_round_trip(instance, applicant, officer):
    """The upload answers 201 with its sha256; the download returns the same bytes as an attachment."""
    response = _upload(client_for(applicant), _documents_url(instance))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest() and body["size"] == len(PDF)
    assert body["filename"] == "KTP Budi.pdf" and body["content_type"] == "application/pdf"
    assert body["instance_id"] == instance.pk and body["task_id"] is None and body["uploaded_by"] == "applicant"
    download = client_for(officer).get(f"/api/v1/documents/{body['id']}/download/")
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == body["sha256"]
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="KTP Budi.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"


def test_download_url_and_metadata_describe_the_document(instance, applicant):
    """GET documents/{id}/ answers the metadata, with a download_url that serves the file."""
    created = _upload(client_for(applicant), _documents_url(instance), name="denah.png", content=PNG,
                      content_type="image/png").json()
    metadata = client_for(applicant).get(f"/api/v1/documents/{created['id']}/")
    assert metadata.status_code == 200 and metadata.json() == created
    download = client_for(applicant).get(created["download_url"], HTTP_ACCEPT="image/png")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"


def test_upload_spooled_to_a_temporary_file_is_stored_whole(instance, applicant, settings, media_root):
    """A file too big to keep in memory is read from its temporary file and stored byte for byte."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    content = PDF + bytes(range(256)) * 64
    body = _upload(client_for(applicant), _documents_url(instance), content=content).json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest() and body["size"] == len(content)
    assert [path.read_bytes() for path in _stored_files(media_root)] == [content]


def test_non_ascii_filename_is_sent_back_encoded(instance, applicant):
    """A name with non-ASCII letters comes back in the RFC 5987 form browsers understand."""
    created = _upload(client_for(applicant), _documents_url(instance), name="Surat Kelurahan Señor.pdf").json()
    download = client_for(applicant).get(f"/api/v1/documents/{created['id']}/download/")
    assert "filename*=utf-8''Surat%20Kelurahan%20Se%C3%B1or.pdf" in download["Content-Disposition"]


def test_oversize_file_is_refused_and_not_stored(instance, applicant, settings, media_root):
    """A file over ENGINE_DOCUMENT_MAX_BYTES answers 400 with the reason; nothing is stored."""
    settings.ENGINE_DOCUMENT_MAX_BYTES = 1024
    response = _upload(client_for(applicant), _documents_url(instance), content=PDF + b"\x00" * 1024)
    assert response.status_code == 400
    assert response.json()["code"] == "document_rejected" and "larger than the limit of 1 KiB" in response.json()[
        "detail"]
    assert not Document.objects.exists() and _stored_files(media_root) == []


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("ktp.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "application/pdf"),
        ("ktp.pdf", b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>", "application/pdf"),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00", "application/x-msdownload"),
        ("page.html", b"<html></html>", "text/html"),
    ],
    ids=["exe-renamed-pdf", "html-claiming-pdf", "exe", "html"],
)
def test_wrong_type_is_refused_and_not_stored(instance, applicant, media_root, name, content, content_type):
    """Files that are not an accepted type by name and content answer 400; nothing is stored."""
    response = _upload(client_for(applicant), _documents_url(instance), name=name, content=content,
                       content_type=content_type)
    assert response.status_code == 400 and response.json()["code"] == "document_rejected"
    assert not Document.objects.exists() and _stored_files(media_root) == []


def test_missing_file_field_is_400(instance, applicant):
    """A multipart request without ``file`` answers 400."""
    response = client_for(applicant).post(_documents_url(instance), {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_applicant_attaches_to_own_instance_but_not_to_another(permit, instance, applicant):
    """The applicant may attach to their application; another citizen's application is 404 to them."""
    stranger = make_user("stranger")
    theirs = instance_start(definition=permit, data={}, actor=stranger)
    assert _upload(client_for(applicant), _documents_url(instance)).status_code == 201
    response = _upload(client_for(applicant), _documents_url(theirs))
    assert response.status_code == 404 and response.json()["code"] == "instance_not_found"
    assert client_for(applicant).get(_documents_url(theirs)).status_code == 404


def test_officer_of_another_agency_gets_404(instance, applicant, outsider):
    """An officer of another agency gets 404 on the document, its download, and the instance's lists."""
    document_id = _upload(client_for(applicant), _documents_url(instance)).json()["id"]
    other = client_for(outsider)
    assert other.get(f"/api/v1/documents/{document_id}/download/").status_code == 404
    assert other.get(f"/api/v1/documents/{document_id}/").status_code == 404
    assert other.get(_documents_url(instance)).status_code == 404
    assert other.get(_comments_url(instance)).status_code == 404
    assert _upload(other, _documents_url(instance)).status_code == 404


def test_unknown_document_is_404(applicant):
    """A document id that does not exist answers the same 404 as one the caller may not see."""
    response = client_for(applicant).get("/api/v1/documents/999999/download/")
    assert response.status_code == 404 and response.json()["code"] == "document_not_found"


def test_anonymous_is_refused_everywhere(instance, task, applicant):
    """Without credentials every document and comment endpoint answers 401."""
    document_id = _upload(client_for(applicant), _documents_url(instance)).json()["id"]
    anonymous = APIClient()
    assert _upload(anonymous, _documents_url(instance)).status_code == 401
    assert _upload(anonymous, f"/api/v1/tasks/{task.pk}/documents/").status_code == 401
    assert anonymous.get(_documents_url(instance)).status_code == 401
    assert anonymous.get(f"/api/v1/documents/{document_id}/").status_code == 401
    assert anonymous.get(f"/api/v1/documents/{document_id}/download/").status_code == 401
    assert anonymous.post(_comments_url(instance), {"text": "hi"}, format="json").status_code == 401
    assert anonymous.get(f"/api/v1/tasks/{task.pk}/comments/").status_code == 401


def test_task_documents_are_for_those_who_see_the_task(instance, task, officer, applicant, outsider):
    """An officer attaches to their task; the applicant and another agency's officer get 404 for it."""
    response = _upload(client_for(officer), f"/api/v1/tasks/{task.pk}/documents/", name="memo.pdf")
    assert response.status_code == 201 and response.json()["task_id"] == task.pk
    document_id = response.json()["id"]
    listed = client_for(officer).get(f"/api/v1/tasks/{task.pk}/documents/").json()
    assert [document["id"] for document in listed["results"]] == [document_id]
    assert client_for(applicant).get(f"/api/v1/documents/{document_id}/download/").status_code == 404
    assert client_for(applicant).get(_documents_url(instance)).json()["count"] == 0
    assert client_for(applicant).get(f"/api/v1/tasks/{task.pk}/documents/").status_code == 404
    assert _upload(client_for(outsider), f"/api/v1/tasks/{task.pk}/documents/").status_code == 404


def test_closed_task_refuses_attachments_with_409_but_stays_readable(instance, task, officer):
    """Once the task is completed, attaching to it is 409; its documents still download."""
    client = client_for(officer)
    document_id = _upload(client, f"/api/v1/tasks/{task.pk}/documents/").json()["id"]
    done = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"documents_complete": True}}, format="json")
    assert done.status_code == 200
    refused = _upload(client, f"/api/v1/tasks/{task.pk}/documents/")
    assert refused.status_code == 409 and refused.json()["code"] == "task_not_ready"
    assert client.get(f"/api/v1/documents/{document_id}/download/").status_code == 200
    assert client.get(f"/api/v1/tasks/{task.pk}/documents/").json()["count"] == 1
    assert _upload(client, _documents_url(instance)).status_code == 201


def test_applicant_attaches_to_their_revision_task(instance, task, officer, applicant):
    """The revision task in the applicant lane takes the applicant's corrected documents."""
    client_for(officer).post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"documents_complete": False}},
                             format="json")
    revision = HumanTask.objects.get(instance=instance, element_id="revise_documents")
    response = _upload(client_for(applicant), f"/api/v1/tasks/{revision.pk}/documents/")
    assert response.status_code == 201 and response.json()["task_id"] == revision.pk


def test_lists_are_paginated_and_oldest_first(instance, applicant):
    """Document and comment lists page with page_size and start with the oldest."""
    client = client_for(applicant)
    first = _upload(client, _documents_url(instance), name="first.pdf").json()
    _upload(client, _documents_url(instance), name="second.pdf")
    page = client.get(_documents_url(instance), {"page_size": 1}).json()
    assert page["count"] == 2 and page["next"] and page["results"][0]["id"] == first["id"]
    for text in ("one", "two", "three"):
        client.post(_comments_url(instance), {"text": text}, format="json")
    comments = client.get(_comments_url(instance), {"page_size": 2}).json()
    assert comments["count"] == 3 and [comment["text"] for comment in comments["results"]] == ["one", "two"]


def test_internal_comments_are_hidden_from_the_applicant(instance, task, officer, applicant):
    """Staff read internal comments on the instance and task; the applicant's lists leave them out."""
    staff = client_for(officer)
    assert staff.post(_comments_url(instance), {"text": "Please bring the original KTP."}, format="json"
                      ).status_code == 201
    internal = staff.post(_comments_url(instance), {"text": "Check with dukcapil.", "internal": True}, format="json")
    assert internal.status_code == 201 and internal.json()["internal"] is True
    on_task = staff.post(f"/api/v1/tasks/{task.pk}/comments/", {"text": "Stamp missing.", "internal": True},
                         format="json")
    assert on_task.status_code == 201 and on_task.json()["task_id"] == task.pk
    seen_by_staff = [comment["text"] for comment in staff.get(_comments_url(instance)).json()["results"]]
    assert seen_by_staff == ["Please bring the original KTP.", "Check with dukcapil.", "Stamp missing."]
    seen_by_applicant = client_for(applicant).get(_comments_url(instance)).json()["results"]
    assert [comment["text"] for comment in seen_by_applicant] == ["Please bring the original KTP."]
    assert staff.get(f"/api/v1/tasks/{task.pk}/comments/").json()["count"] == 1


def test_applicant_cannot_write_internal_comments(instance, applicant):
    """An applicant's internal comment answers 403; a public one is 201 with its author."""
    client = client_for(applicant)
    refused = client.post(_comments_url(instance), {"text": "secret", "internal": True}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    created = client.post(_comments_url(instance), {"text": "Dokumen sudah saya lengkapi."}, format="json")
    assert created.status_code == 201 and created.json()["author"] == "applicant"
    assert created.json()["internal"] is False


def test_applicant_cannot_comment_on_another_application_or_officer_task(permit, task, applicant, outsider):
    """Another citizen's application and an officer's task are 404 to the applicant; so is another agency."""
    theirs = instance_start(definition=permit, data={}, actor=make_user("stranger"))
    client = client_for(applicant)
    assert client.post(_comments_url(theirs), {"text": "hi"}, format="json").status_code == 404
    assert client.post(f"/api/v1/tasks/{task.pk}/comments/", {"text": "hi"}, format="json").status_code == 404
    assert client_for(outsider).post(f"/api/v1/tasks/{task.pk}/comments/", {"text": "hi"}, format="json"
                                     ).status_code == 404


def test_blank_or_overlong_comment_is_400(instance, officer):
    """Blank text and text over 5000 characters answer 400 with code comment_invalid."""
    client = client_for(officer)
    for text in ("   ", "x" * 5001):
        response = client.post(_comments_url(instance), {"text": text}, format="json")
        assert response.status_code == 400 and response.json()["code"] == "comment_invalid"


def test_history_records_documents_and_comments(instance, officer, applicant):
    """The instance history lists document_attached with its checksum and comment_added without the text."""
    document = _upload(client_for(applicant), _documents_url(instance)).json()
    client_for(officer).post(_comments_url(instance), {"text": "Check with dukcapil.", "internal": True},
                             format="json")
    history = client_for(officer).get(f"/api/v1/process-instances/{instance.pk}/history/").json()["results"]
    attached = next(event for event in history if event["event_type"] == "document_attached")
    assert attached["actor"] == "applicant" and attached["details"]["sha256"] == document["sha256"]
    assert attached["details"]["filename"] == "KTP Budi.pdf"
    commented = next(event for event in history if event["event_type"] == "comment_added")
    assert commented["actor"] == "officer" and commented["details"]["internal"] is True
    assert "Check with dukcapil." not in str(commented["details"])


def test_applicant_history_leaves_out_internal_comments_and_officer_task_documents(instance, task, officer,
                                                                                     applicant):
    """The applicant's history omits internal-comment events and documents on tasks they cannot see."""
    staff = client_for(officer)
    staff.post(_comments_url(instance), {"text": "Public note."}, format="json")
    staff.post(_comments_url(instance), {"text": "Check with dukcapil.", "internal": True}, format="json")
    staff.post(f"/api/v1/tasks/{task.pk}/claim/")
    assert _upload(staff, f"/api/v1/tasks/{task.pk}/documents/", name="Catatan verifikasi.pdf").status_code == 201
    assert _upload(client_for(applicant), _documents_url(instance), name="Akta.pdf").status_code == 201

    def kinds(client):
        history = client.get(f"/api/v1/process-instances/{instance.pk}/history/").json()["results"]
        return [(event["event_type"], event["details"].get("internal"), event["details"].get("filename"))
                for event in history if event["event_type"] in ("comment_added", "document_attached")]

    assert kinds(staff) == [
        ("comment_added", False, None), ("comment_added", True, None),
        ("document_attached", None, "Catatan verifikasi.pdf"), ("document_attached", None, "Akta.pdf"),
    ]
    assert kinds(client_for(applicant)) == [("comment_added", False, None), ("document_attached", None, "Akta.pdf")]
