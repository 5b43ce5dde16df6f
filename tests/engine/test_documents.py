"""Documents and comments on instances and tasks: storage, refusals, closed tasks, visibility, history."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engine import document_selectors, history
from engine.exceptions import (
    CommentInvalidError,
    DocumentNotFoundError,
    DocumentRejectedError,
    InstanceNotFoundError,
    InstanceNotRunningError,
    PermissionDeniedError,
    TaskNotFoundError,
    TaskNotReadyError,
)
from engine.models import COMMENT_MAX_LENGTH, Comment, Document, EventType, HistoryEvent, HumanTask
from engine.services import comment_add, document_attach, human_task_complete, instance_start
from tests.conftest import PDF, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]



@pytest.fixture
def instance(permit, applicant):
    return instance_start(definition=permit, data={}, actor=applicant)


def _pdf(name="KTP Budi.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type)


def _open_task(instance, element_id):
    return HumanTask.objects.get(instance=instance, element_id=element_id, status__in=["ready", "claimed"])


def _stored_files(media_root):
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def test_attach_stores_the_file_under_a_random_name(instance, applicant, media_root):
    """The file lands in documents/<instance id>/ under a random name, with its size and sha256 recorded."""
    document = document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    assert document.filename == "KTP Budi.pdf" and document.content_type == "application/pdf"
    assert document.size == len(PDF) and document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.file.name.startswith(f"documents/{instance.pk}/") and document.file.name.endswith(".pdf")
    assert "KTP" not in document.file.name and "Budi" not in document.file.name
    assert (media_root / document.file.name).read_bytes() == PDF


def test_two_uploads_of_the_same_name_get_different_files(instance, applicant):
    """The stored name never derives from the user's, so equal names never collide or overwrite."""
    first = document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    second = document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    assert first.file.name != second.file.name


def test_attach_records_a_document_attached_event(instance, applicant):
    """DOCUMENT_ATTACHED carries filename, size, sha256 and content type, with the uploader as actor."""
    document = document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    event = HistoryEvent.objects.get(instance=instance, event_type=EventType.DOCUMENT_ATTACHED)
    assert event.actor_name == "applicant"
    assert event.details == {
        "document_id": document.pk, "filename": "KTP Budi.pdf", "size": len(PDF),
        "sha256": document.sha256, "content_type": "application/pdf",
    }


def test_a_refused_file_leaves_nothing_behind(instance, applicant, media_root):
    """A refused upload stores no file, no row and no event."""
    with pytest.raises(DocumentRejectedError):
        document_attach(instance_id=instance.pk, actor=applicant,
                        uploaded_file=_pdf(content=b"<html><body>not a pdf</body></html>"))
    assert not Document.objects.exists() and _stored_files(media_root) == []
    assert not HistoryEvent.objects.filter(event_type=EventType.DOCUMENT_ATTACHED).exists()


def test_oversize_file_is_refused(instance, applicant, settings, media_root):
    """A file over ENGINE_DOCUMENT_MAX_BYTES is refused and not stored."""
    settings.ENGINE_DOCUMENT_MAX_BYTES = 64
    with pytest.raises(DocumentRejectedError, match="larger than the limit"):
        document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf(content=PDF + b" " * 64))
    assert _stored_files(media_root) == []


def test_a_failure_after_writing_the_file_removes_it(instance, applicant, media_root, monkeypatch):
    """When the transaction fails after the file was written, the file is deleted with the rollback."""
    def broken(*args, **kwargs):
        raise RuntimeError("history is down")

    monkeypatch.setattr(history, "record_document_attached", broken)
    with pytest.raises(RuntimeError):
        document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    assert not Document.objects.exists() and _stored_files(media_root) == []


def test_another_citizen_cannot_attach_to_the_instance(instance, media_root):
    """A citizen who is not the applicant is told the instance does not exist."""
    stranger = make_user("stranger")
    with pytest.raises(InstanceNotFoundError):
        document_attach(instance_id=instance.pk, actor=stranger, uploaded_file=_pdf())
    assert _stored_files(media_root) == []


def test_attach_to_a_task_sets_the_task_and_needs_to_see_it(instance, officer, outsider):
    """A candidate attaches to the task; an officer of another agency is told it does not exist."""
    task = _open_task(instance, "check_completeness")
    document = document_attach(task_id=task.pk, actor=officer, uploaded_file=_pdf())
    assert document.human_task == task and document.instance == instance
    with pytest.raises(TaskNotFoundError):
        document_attach(task_id=task.pk, actor=outsider, uploaded_file=_pdf())


def test_closed_task_takes_no_documents_but_keeps_its_own(instance, officer):
    """After completion the task refuses new documents and comments; its documents stay readable."""
    task = _open_task(instance, "check_completeness")
    document = document_attach(task_id=task.pk, actor=officer, uploaded_file=_pdf())
    human_task_complete(task_id=task.pk, actor=officer, data={"documents_complete": True})
    with pytest.raises(TaskNotReadyError):
        document_attach(task_id=task.pk, actor=officer, uploaded_file=_pdf())
    with pytest.raises(TaskNotReadyError):
        comment_add(task_id=task.pk, actor=officer, text="Too late")
    assert document_selectors.document_get_for_user(document_id=document.pk, user=officer) == document
    assert document_attach(instance_id=instance.pk, actor=officer, uploaded_file=_pdf()).human_task is None


def test_completed_instance_takes_no_documents(instance, applicant):
    """A completed instance's file is closed: attaching or commenting is refused."""
    type(instance).objects.filter(pk=instance.pk).update(status="completed")
    with pytest.raises(InstanceNotRunningError):
        document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    with pytest.raises(InstanceNotRunningError):
        comment_add(instance_id=instance.pk, actor=applicant, text="Thank you")


def test_task_documents_are_hidden_from_those_who_cannot_see_the_task(instance, officer, applicant):
    """The applicant sees the instance's documents but not those on an officer's task."""
    task = _open_task(instance, "check_completeness")
    on_task = document_attach(task_id=task.pk, actor=officer, uploaded_file=_pdf("memo.pdf"))
    on_instance = document_attach(instance_id=instance.pk, actor=applicant, uploaded_file=_pdf())
    assert list(document_selectors.document_list_for_instance(instance, applicant)) == [on_instance]
    assert list(document_selectors.document_list_for_instance(instance, officer)) == [on_task, on_instance]
    with pytest.raises(DocumentNotFoundError):
        document_selectors.document_get_for_user(document_id=on_task.pk, user=applicant)


def test_comment_add_records_the_event_without_the_text(instance, officer):
    """COMMENT_ADDED says which comment and whether it is internal, never what it says."""
    comment = comment_add(instance_id=instance.pk, actor=officer, text="  NIK 3578 does not match  ", internal=True)
    assert comment.text == "NIK 3578 does not match" and comment.internal and comment.author == officer
    event = HistoryEvent.objects.get(instance=instance, event_type=EventType.COMMENT_ADDED)
    assert event.actor_name == "officer"
    assert event.details == {"comment_id": comment.pk, "internal": True, "length": len(comment.text)}


def test_applicant_cannot_write_an_internal_comment(instance, applicant):
    """An internal comment from the applicant is refused, and nothing is written."""
    with pytest.raises(PermissionDeniedError):
        comment_add(instance_id=instance.pk, actor=applicant, text="secret", internal=True)
    assert not Comment.objects.exists()


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (COMMENT_MAX_LENGTH + 1)])
def test_blank_or_overlong_comment_is_refused(instance, officer, text):
    """A comment needs some text and at most COMMENT_MAX_LENGTH characters."""
    with pytest.raises(CommentInvalidError):
        comment_add(instance_id=instance.pk, actor=officer, text=text)


def test_internal_comments_are_hidden_from_the_applicant(instance, officer, applicant):
    """The applicant's lists leave internal comments out; staff see them all, in time order."""
    public = comment_add(instance_id=instance.pk, actor=officer, text="Please bring the original KTP.")
    internal = comment_add(instance_id=instance.pk, actor=officer, text="Check with dukcapil.", internal=True)
    assert list(document_selectors.comment_list_for_instance(instance, applicant)) == [public]
    assert list(document_selectors.comment_list_for_instance(instance, officer)) == [public, internal]


def test_staff_applicant_does_not_see_internal_comments_on_their_own_application(permit, officer, second_officer):
    """An officer applying for themselves is the applicant there, and internal comments stay hidden."""
    own = instance_start(definition=permit, data={}, actor=second_officer, applicant=officer)
    comment_add(instance_id=own.pk, actor=second_officer, text="Conflict of interest noted.", internal=True)
    assert list(document_selectors.comment_list_for_instance(own, officer)) == []
    with pytest.raises(PermissionDeniedError):
        comment_add(instance_id=own.pk, actor=officer, text="about me", internal=True)
