"""Uploads refused while they arrive: no file larger than the engine accepts is received whole.

Django spools an uploaded file to memory or a temporary file before any view sees it, and the checks
after that (``processes.bpmn_xml`` for models, ``engine.filetypes.check_upload`` for documents) come
too late to spare the disk and the time of a huge upload. ``LimitedUploadHandler`` is the first upload
handler (``FILE_UPLOAD_HANDLERS``): it refuses a request whose declared length is over
``ENGINE_UPLOAD_REQUEST_MAX_BYTES`` before reading it, and stops reading at the first chunk that takes a
file past ``ENGINE_UPLOAD_MAX_BYTES`` or the request past the request limit. The API answers 400 with
the reason; elsewhere Django answers 400 (the error is a ``SuspiciousOperation``).
"""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParserError


class UploadTooLargeError(MultiPartParserError, SuspiciousOperation):
    """An upload over the limits (Django REST Framework answers a ``MultiPartParserError`` with 400)."""


def _megabytes(count):
    return f"{count / (1024 * 1024):.1f} MB"


class LimitedUploadHandler(FileUploadHandler):
    """Counts what arrives, per file and in all, and stops the upload when it passes the limits."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.file_limit = settings.ENGINE_UPLOAD_MAX_BYTES
        self.request_limit = settings.ENGINE_UPLOAD_REQUEST_MAX_BYTES
        self.received = 0
        if content_length and content_length > self.request_limit:
            raise UploadTooLargeError(
                f"The request is {_megabytes(content_length)}; uploads may be at most "
                f"{_megabytes(self.request_limit)} in all.")
        return None  # the next handlers receive the files

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file_received = 0

    def receive_data_chunk(self, raw_data, start):
        self.file_received += len(raw_data)
        self.received += len(raw_data)
        if self.file_received > self.file_limit:
            raise UploadTooLargeError(
                f"The file '{self.file_name}' is larger than the limit of {_megabytes(self.file_limit)}.")
        if self.received > self.request_limit:
            raise UploadTooLargeError(f"The uploads are larger than the limit of {_megabytes(self.request_limit)}.")
        return raw_data

    def file_complete(self, file_size):
        return None
