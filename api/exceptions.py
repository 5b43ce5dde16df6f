"""The one place engine errors become HTTP responses."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from engine import exceptions as engine_errors
from engine.calendars import CalendarInvalidError, CalendarRangeError, DurationInvalidError
from processes.diagram import DiagramUnavailableError

_STATUS_BY_ERROR = [
    (engine_errors.DefinitionInvalidError, status.HTTP_400_BAD_REQUEST, "definition_invalid"),
    (engine_errors.TaskDataInvalidError, status.HTTP_400_BAD_REQUEST, "data_invalid"),
    (engine_errors.TaskFormInvalidError, status.HTTP_400_BAD_REQUEST, "form_invalid"),
    (engine_errors.DefinitionNotFoundError, status.HTTP_404_NOT_FOUND, "definition_not_found"),
    (engine_errors.InstanceNotFoundError, status.HTTP_404_NOT_FOUND, "instance_not_found"),
    (engine_errors.TaskNotFoundError, status.HTTP_404_NOT_FOUND, "task_not_found"),
    (engine_errors.MessageNotCorrelatedError, status.HTTP_404_NOT_FOUND, "message_not_correlated"),
    (engine_errors.DocumentNotFoundError, status.HTTP_404_NOT_FOUND, "document_not_found"),
    (engine_errors.DocumentRejectedError, status.HTTP_400_BAD_REQUEST, "document_rejected"),
    (engine_errors.CommentInvalidError, status.HTTP_400_BAD_REQUEST, "comment_invalid"),
    (engine_errors.TaskAssigneeInvalidError, status.HTTP_400_BAD_REQUEST, "assignee_invalid"),
    (CalendarInvalidError, status.HTTP_400_BAD_REQUEST, "calendar_invalid"),
    (CalendarRangeError, status.HTTP_400_BAD_REQUEST, "calendar_range"),
    (DurationInvalidError, status.HTTP_400_BAD_REQUEST, "duration_invalid"),
    (engine_errors.CalendarClosureNotFoundError, status.HTTP_404_NOT_FOUND, "closure_not_found"),
    (engine_errors.CalendarClosureExistsError, status.HTTP_409_CONFLICT, "closure_exists"),
    (engine_errors.TaskPermissionError, status.HTTP_403_FORBIDDEN, "not_a_candidate"),
    (engine_errors.PermissionDeniedError, status.HTTP_403_FORBIDDEN, "permission_denied"),
    (engine_errors.TaskDelegatedError, status.HTTP_409_CONFLICT, "task_delegated"),
    (engine_errors.TaskNotReadyError, status.HTTP_409_CONFLICT, "task_not_ready"),
    (engine_errors.TaskClaimedError, status.HTTP_409_CONFLICT, "task_claimed"),
    (engine_errors.InstanceNotRunningError, status.HTTP_409_CONFLICT, "instance_not_running"),
    (engine_errors.MigrationInvalidError, status.HTTP_400_BAD_REQUEST, "migration_invalid"),
    (DiagramUnavailableError, status.HTTP_503_SERVICE_UNAVAILABLE, "diagram_unavailable"),
]


def engine_exception_handler(exc, context):
    for error_class, http_status, code in _STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            body = {"detail": str(exc), "code": code}
            if isinstance(exc, (engine_errors.DefinitionInvalidError, engine_errors.TaskFormInvalidError)):
                body["errors"] = exc.errors
            if isinstance(exc, engine_errors.DefinitionInvalidError):
                body["warnings"] = exc.warnings
            return Response(body, status=http_status)
    return exception_handler(exc, context)
