"""Selectors for documents and comments: who may read which, and the lists the API shows.

The rules build on the task and instance rules of ``engine.selectors``:
- what is attached to a task is for those who may see the task (``human_task_visible_to``);
- what is attached to the instance itself is for those who may see the instance
  (``instance_list_for_user``: its agency's staff, its applicant, holders of one of its tasks);
- an instance's lists show its own documents and comments plus those of the tasks the reader may see;
- internal comments are for staff only: never for a citizen, and never for the instance's applicant
  even when the applicant happens to be staff.

Anything a user may not read is answered as if it did not exist.
"""

from django.db.models import Q

from .agencies import membership_of
from .exceptions import DocumentNotFoundError, InstanceNotFoundError, TaskNotFoundError
from .models import Comment, Document, EventType, HumanTask
from .selectors import human_task_list_for_user, human_task_visible_to, instance_history, instance_list_for_user


def instance_visible_to(instance, user):
    """Whether ``user`` may see ``instance`` (and what is attached to the instance itself)."""
    return instance_list_for_user(user).filter(pk=instance.pk).exists()


def instance_get_for_user(*, instance_id, user):
    """The instance, if ``user`` may see it; else InstanceNotFoundError."""
    instance = instance_list_for_user(user).filter(pk=instance_id).first()
    if instance is None:
        raise InstanceNotFoundError(f"There is no instance {instance_id} you may see.")
    return instance


def human_task_get_for_user(*, task_id, user):
    """The task, if ``user`` may see it; else TaskNotFoundError."""
    task = HumanTask.objects.select_related("instance").filter(pk=task_id).first()
    if task is None or not human_task_visible_to(task, user):
        raise TaskNotFoundError(f"There is no task {task_id} you may see.")
    return task


def sees_internal_comments(user, instance):
    """Staff (and superusers) read internal comments; citizens and the instance's own applicant never do."""
    if user.is_superuser:
        return True
    return membership_of(user) is not None and user.pk != instance.applicant_id


def _on_instance_or_visible_task(user):
    if user.is_superuser:
        return Q()
    return Q(human_task__isnull=True) | Q(human_task__in=human_task_list_for_user(user).values("pk"))


def document_list_for_instance(instance, user):
    """The instance's documents and those of its tasks ``user`` may see, oldest first."""
    documents = Document.objects.filter(instance=instance).filter(_on_instance_or_visible_task(user))
    return documents.select_related("uploaded_by").order_by("created_at", "id")


def document_list_for_task(task):
    """The documents attached to ``task``, oldest first (the caller has checked the task is visible)."""
    return Document.objects.filter(human_task=task).select_related("uploaded_by").order_by("created_at", "id")


def document_get_for_user(*, document_id, user):
    """The document, if ``user`` may see its task (or, for an instance document, its instance)."""
    document = Document.objects.select_related("instance", "human_task", "uploaded_by").filter(pk=document_id).first()
    if document is not None:
        if document.human_task is not None and human_task_visible_to(document.human_task, user):
            return document
        if document.human_task is None and instance_visible_to(document.instance, user):
            return document
    raise DocumentNotFoundError(f"There is no document {document_id} you may see.")


def document_file_open(document):
    """The stored file, opened for reading; a file missing from storage is DocumentNotFoundError."""
    try:
        return document.file.open("rb")
    except OSError:
        raise DocumentNotFoundError(f"The file of document {document.pk} is missing from storage.")


def comment_list_for_instance(instance, user):
    """The instance's comments and those of its tasks ``user`` may see, oldest first; internal ones for staff."""
    comments = Comment.objects.filter(instance=instance).filter(_on_instance_or_visible_task(user))
    if not sees_internal_comments(user, instance):
        comments = comments.filter(internal=False)
    return comments.select_related("author").order_by("created_at", "id")


def comment_list_for_task(task, user):
    """The comments on ``task``, oldest first; internal ones only for staff."""
    comments = Comment.objects.filter(human_task=task)
    if not sees_internal_comments(user, task.instance):
        comments = comments.filter(internal=False)
    return comments.select_related("author").order_by("created_at", "id")


def instance_history_for_user(instance, user):
    """The instance's history as ``user`` may read it.

    The events of internal comments are staff-only like the comments, and an event about a document on
    a task is shown only to those who may see that task (its file name can say more than the task).
    """
    events = instance_history(instance)
    if not sees_internal_comments(user, instance):
        events = events.exclude(event_type=EventType.COMMENT_ADDED, details__internal=True)
    if not user.is_superuser:
        hidden_documents = Q(event_type=EventType.DOCUMENT_ATTACHED, human_task__isnull=False) & ~Q(
            human_task__in=human_task_list_for_user(user).values("pk")
        )
        events = events.exclude(hidden_documents)
    return events
