"""Errors the engine raises. Only ``api/`` turns them into HTTP responses."""


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class DefinitionInvalidError(EngineError):
    """A BPMN file could not be deployed; ``errors`` lists what is wrong, with line and element."""

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.errors = list(errors or [])


class DefinitionNotFoundError(EngineError):
    """No deployed process definition has the requested key or id."""


class InstanceNotFoundError(EngineError):
    """No process instance has the requested id."""


class InstanceNotRunningError(EngineError):
    """The instance is completed, cancelled or in error and cannot move on."""


class TaskNotFoundError(EngineError):
    """No human task has the requested id."""


class TaskNotReadyError(EngineError):
    """The human task was already completed or cancelled; it cannot be claimed or completed again."""


class TaskClaimedError(EngineError):
    """The human task is claimed by another user."""


class TaskPermissionError(EngineError):
    """The actor is neither the assignee nor a candidate of the human task."""


class TaskDelegatedError(EngineError):
    """The task is delegated: the delegate must resolve it before it can be completed or handed on."""


class TaskAssigneeInvalidError(EngineError):
    """The user a task is assigned or delegated to does not exist or may not work on it."""


class PermissionDeniedError(EngineError):
    """The actor's role or agency does not allow this action."""


class TaskDataInvalidError(EngineError):
    """The data sent to complete a task is not a JSON object of plain values."""


class DocumentRejectedError(EngineError):
    """An uploaded file was refused (too large, empty, or not one of the allowed types); nothing was stored."""


class CalendarClosureNotFoundError(EngineError):
    """The agency's calendar has no closure with the requested id."""


class CalendarClosureExistsError(EngineError):
    """The agency's calendar already has a closure on that date; remove it before adding another."""


class DocumentNotFoundError(EngineError):
    """No document has the requested id, the actor may not see it, or its file is gone from storage."""


class CommentInvalidError(EngineError):
    """A comment's text is empty or too long."""


class TaskFormInvalidError(EngineError):
    """The data a task is completed with does not fit its form; ``errors`` is {field path: [messages]}."""

    def __init__(self, errors, message="The data does not fit the task's form."):
        super().__init__(message)
        self.errors = dict(errors)


class ScriptError(EngineError):
    """A BPMN script or expression failed while it ran (a bad name, a type error, a division by zero)."""

    def __init__(self, message, line_number=None):
        super().__init__(message)
        self.line_number = line_number


class ScriptForbiddenError(ScriptError):
    """A BPMN script or expression tried something the sandbox does not allow (imports, dunder access, I/O)."""


class ScriptLimitError(ScriptError):
    """A BPMN script or expression ran too long or built values too large."""


class ScriptSyntaxError(ScriptError):
    """A BPMN script or expression is not valid in the restricted language."""


class MessageNotCorrelatedError(EngineError):
    """No instance the sender may address waits for a message with that name and correlation key."""


class ProcessStepError(EngineError):
    """Running the process failed at an element (a script, a condition, a gateway with no way out)."""

    def __init__(self, message, element_id=None):
        super().__init__(message)
        self.element_id = element_id


class DecisionEvaluationError(EngineError):
    """A DMN decision could not be evaluated (no decision table, a UNIQUE or ANY conflict, a failing cell).

    ``decision_id``, ``rule`` (1-based index, or None) and ``line`` say where in the DMN file.
    """

    def __init__(self, message, decision_id=None, rule=None, line=None):
        super().__init__(message)
        self.decision_id = decision_id
        self.rule = rule
        self.line = line
