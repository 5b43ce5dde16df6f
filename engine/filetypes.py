"""Checking an uploaded file before it is stored: its name, declared type, size and leading bytes.

A file is accepted only when all of these agree on one allowed type: the extension of its name, the
type the client declared (or a generic one such as ``application/octet-stream``, which many clients
send) and the signature its content starts with. An ``.exe`` renamed ``.pdf`` or an HTML page
declared as a PDF is refused. The type stored and sent back on download is the one the content was
checked to be, never the one the client declared.

The checksum and the size are computed while reading the upload chunk by chunk, so a large file is
never held in memory whole.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from engine.exceptions import DocumentRejectedError

# Declared types that say nothing about the content; the extension and signature then decide.
GENERIC_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
FILENAME_MAX_LENGTH = 255
_SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    extensions: tuple[str, ...]
    signatures: tuple[bytes, ...]
    declared_aliases: tuple[str, ...] = ()

    def starts_like(self, head):
        if self.content_type == "image/webp":
            return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        return any(head.startswith(signature) for signature in self.signatures)

    def accepts_declared(self, declared):
        return declared in GENERIC_CONTENT_TYPES or declared in (self.content_type, *self.declared_aliases)


KNOWN_TYPES = {
    file_type.content_type: file_type
    for file_type in (
        FileType("application/pdf", "PDF", (".pdf",), (b"%PDF-",), ("application/x-pdf",)),
        FileType("image/png", "PNG", (".png",), (b"\x89PNG\r\n\x1a\n",)),
        FileType("image/jpeg", "JPEG", (".jpg", ".jpeg"), (b"\xff\xd8\xff",), ("image/jpg", "image/pjpeg")),
        FileType("image/tiff", "TIFF", (".tif", ".tiff"), (b"II*\x00", b"MM\x00*")),
        FileType("image/webp", "WebP", (".webp",), ()),
    )
}


@dataclass(frozen=True)
class CheckedFile:
    """What is known about an upload that passed every check."""

    filename: str
    file_type: FileType
    size: int
    sha256: str

    @property
    def storage_name(self):
        """A name for storage made only of the checked type's extension (the rest is random)."""
        return f"upload{self.file_type.extensions[0]}"


def allowed_types(content_types):
    """The known file types among ``content_types`` (the ``ENGINE_DOCUMENT_TYPES`` setting)."""
    unknown = [content_type for content_type in content_types if content_type not in KNOWN_TYPES]
    if unknown:
        raise ValueError(f"ENGINE_DOCUMENT_TYPES names types the engine cannot check: {', '.join(unknown)}")
    return [KNOWN_TYPES[content_type] for content_type in content_types]


def clean_filename(name):
    """The last path component of ``name``, without control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip().strip(".")
    if len(name) > FILENAME_MAX_LENGTH:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: FILENAME_MAX_LENGTH - len(suffix)] + suffix
    return name


def check_upload(uploaded_file, *, types, max_bytes):
    """Check an uploaded file against the allowed ``types`` and ``max_bytes``; raise DocumentRejectedError.

    ``uploaded_file`` is a Django ``UploadedFile`` (``name``, ``content_type``, ``size``, ``chunks()``).
    """
    filename = clean_filename(uploaded_file.name)
    file_type = _type_for_name(filename, types)
    declared = (getattr(uploaded_file, "content_type", None) or "").split(";")[0].strip().lower()
    if not file_type.accepts_declared(declared):
        raise DocumentRejectedError(
            f"The file is named like a {file_type.label} but was sent as '{declared}'."
        )
    if uploaded_file.size is not None and uploaded_file.size > max_bytes:
        raise DocumentRejectedError(_too_large(max_bytes))
    size, sha256, head = _read(uploaded_file, max_bytes)
    if size == 0:
        raise DocumentRejectedError("The file is empty.")
    if not file_type.starts_like(head):
        raise DocumentRejectedError(
            f"The file's content is not a {file_type.label}: it does not start the way a {file_type.label} does."
        )
    return CheckedFile(filename=filename, file_type=file_type, size=size, sha256=sha256)


def _type_for_name(filename, types):
    labels = ", ".join(file_type.label for file_type in types)
    suffix = PurePosixPath(filename).suffix.lower()
    if not filename or not suffix:
        raise DocumentRejectedError(f"The file name needs an extension; accepted types: {labels}.")
    for file_type in types:
        if suffix in file_type.extensions:
            return file_type
    raise DocumentRejectedError(f"Files of type '{suffix}' are not accepted; accepted types: {labels}.")


def _read(uploaded_file, max_bytes):
    """Size, sha256 and leading bytes, read chunk by chunk; stops as soon as the limit is passed."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in uploaded_file.chunks():
        size += len(chunk)
        if size > max_bytes:
            raise DocumentRejectedError(_too_large(max_bytes))
        if len(head) < _SIGNATURE_BYTES:
            head += chunk[: _SIGNATURE_BYTES - len(head)]
        digest.update(chunk)
    return size, digest.hexdigest(), head


def _too_large(max_bytes):
    return f"The file is larger than the limit of {_human_size(max_bytes)}."


def _human_size(size):
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"
