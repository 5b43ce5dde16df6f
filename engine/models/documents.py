"""Documents and comments on an application (instance) or on one of its tasks.

A file is stored under ``MEDIA_ROOT/documents/<instance id>/`` with a random name; the name the
uploader gave it is kept only as data (``filename``) and sent back on download. Media files are never
served directly: downloads go through the API, which checks who may see the document.
"""

import secrets
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone

from .instances import ProcessInstance
from .tasks import HumanTask

COMMENT_MAX_LENGTH = 5000


def document_upload_to(document, filename):
    """``documents/<instance id>/<random>.<ext>``: only the extension of ``filename`` survives.

    The services pass a name made of the checked type's own extension, so no part of what the user
    typed ever reaches the file system.
    """
    suffix = PurePath(filename).suffix.lower()
    return f"documents/{document.instance_id}/{secrets.token_hex(16)}{suffix}"


class Document(models.Model):
    """A file attached to an instance, or to one of its tasks; readable for as long as the instance exists."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="documents")
    human_task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.PROTECT, related_name="documents",
        help_text="Set when attached to a task: then only those who may see the task may read it.",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255, help_text="The uploader's file name, sent back on download.")
    content_type = models.CharField(max_length=100, help_text="The type the content was checked to be.")
    size = models.PositiveBigIntegerField(help_text="In bytes.")
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=document_upload_to, max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["instance", "created_at"], name="document_instance_created"),
            models.Index(fields=["human_task", "created_at"], name="document_task_created"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.content_type}, {self.size} bytes)"


class Comment(models.Model):
    """A note on an instance or task. Internal comments are for staff and never shown to the applicant."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="comments")
    human_task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.PROTECT, related_name="comments",
        help_text="Set when written on a task: then only those who may see the task may read it.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(max_length=COMMENT_MAX_LENGTH)
    internal = models.BooleanField(default=False, help_text="Staff only: never shown to the applicant.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["instance", "created_at"], name="comment_instance_created"),
            models.Index(fields=["human_task", "created_at"], name="comment_task_created"),
        ]

    def __str__(self):
        return f"Comment {self.pk} on instance {self.instance_id}{' (internal)' if self.internal else ''}"
