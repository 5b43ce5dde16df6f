"""Attaching documents and writing comments, on an instance or on one of its tasks.

Who may: on a task, those who may see the task; on an instance, those who may see the instance (its
agency's staff, its applicant, holders of one of its tasks). Anything else is answered as not found.
Only staff write internal comments.

When: a task that is completed or cancelled keeps its documents and comments readable but takes no
new ones (TaskNotReadyError); they go on the instance instead. A completed or cancelled instance takes
none at all (InstanceNotRunningError): its file is closed. An instance in error stays open, so staff
can document what went wrong.

A file is checked (name, declared type, leading bytes, size, sha256) before the transaction opens; a
refused file is never written. The file is written inside the transaction and deleted again if the
transaction fails. (A transaction of the caller's that rolls back later would leave the file behind
with no row pointing at it: call these services outside other transactions.)
"""

from django.conf import settings
from django.db import transaction

from engine import history
from engine.document_selectors import instance_visible_to, sees_internal_comments
from engine.exceptions import (
    CommentInvalidError,
    InstanceNotFoundError,
    InstanceNotRunningError,
    PermissionDeniedError,
    TaskNotFoundError,
    TaskNotReadyError,
)
from engine.filetypes import allowed_types, check_upload
from engine.models import COMMENT_MAX_LENGTH, Comment, Document, InstanceStatus, ProcessInstance
from engine.selectors import human_task_visible_to

from .steps import locked_instance, locked_task

CLOSED_INSTANCE_STATUSES = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)


def document_attach(*, actor, uploaded_file, instance_id=None, task_id=None):
    """Check ``uploaded_file`` and attach it to the instance or the task (exactly one of the two ids)."""
    _require_one_target(instance_id, task_id)
    checked = check_upload(
        uploaded_file,
        types=allowed_types(settings.ENGINE_DOCUMENT_TYPES),
        max_bytes=settings.ENGINE_DOCUMENT_MAX_BYTES,
    )
    document = Document(
        uploaded_by=actor,
        filename=checked.filename,
        content_type=checked.file_type.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    try:
        with transaction.atomic():
            document.instance, document.human_task = _locked_target(instance_id, task_id, actor)
            document.file.save(checked.storage_name, uploaded_file, save=False)
            document.save()
            history.record_document_attached(document, actor=actor)
    except BaseException:
        if document.file.name:
            document.file.storage.delete(document.file.name)
        raise
    return document


def comment_add(*, actor, text, internal=False, instance_id=None, task_id=None):
    """Write a comment on the instance or the task (exactly one of the two ids); only staff write internal ones."""
    _require_one_target(instance_id, task_id)
    text = _clean_text(text)
    with transaction.atomic():
        instance, task = _locked_target(instance_id, task_id, actor)
        if internal and not sees_internal_comments(actor, instance):
            raise PermissionDeniedError("Only staff may write internal comments.")
        comment = Comment.objects.create(
            instance=instance, human_task=task, author=actor, text=text, internal=bool(internal)
        )
        history.record_comment_added(comment, actor=actor)
    return comment


def _require_one_target(instance_id, task_id):
    if (instance_id is None) == (task_id is None):
        raise ValueError("Pass exactly one of instance_id and task_id.")


def _clean_text(text):
    if not isinstance(text, str):
        raise CommentInvalidError("A comment's text must be a string.")
    text = text.replace("\x00", "").strip()
    if not text:
        raise CommentInvalidError("A comment needs some text.")
    if len(text) > COMMENT_MAX_LENGTH:
        raise CommentInvalidError(f"A comment may be at most {COMMENT_MAX_LENGTH} characters long.")
    return text


def _locked_target(instance_id, task_id, actor):
    """Lock the instance (then the task), check the actor may see it and that it still takes additions."""
    if task_id is not None:
        return _locked_open_task(task_id, actor)
    try:
        instance = locked_instance(instance_id)
    except ProcessInstance.DoesNotExist:
        raise InstanceNotFoundError(f"There is no instance {instance_id} you may see.")
    if not instance_visible_to(instance, actor):
        raise InstanceNotFoundError(f"There is no instance {instance_id} you may see.")
    _require_open_instance(instance)
    return instance, None


def _locked_open_task(task_id, actor):
    task = locked_task(task_id)
    if task is None or not human_task_visible_to(task, actor):
        raise TaskNotFoundError(f"There is no task {task_id} you may see.")
    if not task.is_open:
        raise TaskNotReadyError(
            f"Task {task_id} is {task.status}; add documents and comments to instance {task.instance_id} instead."
        )
    _require_open_instance(task.instance)
    return task.instance, task


def _require_open_instance(instance):
    if instance.status in CLOSED_INSTANCE_STATUSES:
        raise InstanceNotRunningError(f"Instance {instance.pk} is {instance.status}; its file is closed.")
