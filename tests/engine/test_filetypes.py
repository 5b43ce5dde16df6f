"""Checking uploads without a database: names, declared types, signatures, sizes and checksums."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

from engine.exceptions import DocumentRejectedError
from engine.filetypes import KNOWN_TYPES, allowed_types, check_upload, clean_filename

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
ALL_TYPES = list(KNOWN_TYPES.values())


def _check(name, content, content_type="application/octet-stream", max_bytes=1024):
    upload = SimpleUploadedFile(name, content, content_type)
    return check_upload(upload, types=ALL_TYPES, max_bytes=max_bytes)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("ktp.pdf", PDF, "application/pdf"),
        ("plan.PNG", b"\x89PNG\r\n\x1a\n" + b"\x00" * 24, "image/png"),
        ("kk.jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        ("kk.jpg", b"\xff\xd8\xff\xe1\x00\x10Exif\x00", "image/jpg"),
        ("scan.tif", b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        ("scan.tiff", b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        ("photo.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_each_accepted_type_passes_with_its_signature(name, content, content_type):
    """A file whose extension, declared type and leading bytes agree is accepted as that type."""
    checked = _check(name, content, content_type)
    assert checked.file_type.content_type == content_type.replace("image/jpg", "image/jpeg")
    assert checked.size == len(content) and checked.sha256 == hashlib.sha256(content).hexdigest()


def test_generic_declared_type_is_decided_by_name_and_content():
    """application/octet-stream (what many clients send) leaves the decision to extension and signature."""
    assert _check("ktp.pdf", PDF, "application/octet-stream").file_type.content_type == "application/pdf"


def test_executable_renamed_pdf_is_refused():
    """An .exe renamed .pdf does not start with %PDF- and is refused."""
    with pytest.raises(DocumentRejectedError, match="not a PDF"):
        _check("ktp.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "application/pdf")


def test_html_declared_as_pdf_is_refused():
    """An HTML page named and declared as a PDF is refused by its content."""
    with pytest.raises(DocumentRejectedError, match="not a PDF"):
        _check("ktp.pdf", b"<!DOCTYPE html><script>alert(1)</script>", "application/pdf")


def test_declared_type_that_contradicts_the_name_is_refused():
    """A .pdf sent as text/html is refused even when its content starts like a PDF."""
    with pytest.raises(DocumentRejectedError, match="text/html"):
        _check("ktp.pdf", PDF, "text/html")


@pytest.mark.parametrize("name", ["setup.exe", "page.html", "noextension", "archive.pdf.zip"])
def test_unaccepted_extensions_are_refused(name):
    """Names without an accepted extension are refused, whatever the content."""
    with pytest.raises(DocumentRejectedError, match="accepted types"):
        _check(name, PDF)


def test_only_the_allowed_types_are_accepted():
    """A known type left out of ENGINE_DOCUMENT_TYPES is refused."""
    upload = SimpleUploadedFile("plan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, "image/png")
    with pytest.raises(DocumentRejectedError, match="accepted types: PDF"):
        check_upload(upload, types=allowed_types(["application/pdf"]), max_bytes=1024)


def test_unknown_type_in_settings_is_a_configuration_error():
    """Naming a type the engine has no signature for fails loudly instead of accepting anything."""
    with pytest.raises(ValueError, match="text/html"):
        allowed_types(["application/pdf", "text/html"])


def test_oversize_and_empty_files_are_refused():
    """A file over the limit, or with no bytes at all, is refused with the reason."""
    with pytest.raises(DocumentRejectedError, match="larger than the limit of 1 KiB"):
        _check("big.pdf", PDF + b"\x00" * 1024, max_bytes=1024)
    with pytest.raises(DocumentRejectedError, match="empty"):
        _check("empty.pdf", b"")


def test_a_file_whose_declared_size_lies_is_still_measured():
    """The limit holds on the bytes actually read, not on the size the upload claims."""
    upload = SimpleUploadedFile("big.pdf", PDF + b"\x00" * 2048, "application/pdf")
    upload.size = 10
    with pytest.raises(DocumentRejectedError, match="larger than the limit"):
        check_upload(upload, types=ALL_TYPES, max_bytes=1024)


def test_checksum_is_computed_over_every_chunk():
    """A file read in many chunks gets the checksum of its whole content."""
    content = PDF + bytes(range(256)) * 40
    upload = UploadedFile(io.BytesIO(content), name="many.pdf", content_type="application/pdf", size=len(content))
    upload.DEFAULT_CHUNK_SIZE = 64
    assert len(list(upload.chunks())) > 100
    checked = check_upload(upload, types=ALL_TYPES, max_bytes=len(content))
    assert checked.sha256 == hashlib.sha256(content).hexdigest() and checked.size == len(content)


def test_filenames_lose_paths_and_control_characters():
    """Only the last path component survives, without control characters; long names keep their extension."""
    assert clean_filename("C:\\Users\\budi\\KTP Budi.pdf") == "KTP Budi.pdf"
    assert clean_filename("../../etc/pass\x00wd\r\n.pdf") == "passwd.pdf"
    long_name = clean_filename("a" * 400 + ".pdf")
    assert len(long_name) == 255 and long_name.endswith(".pdf")
