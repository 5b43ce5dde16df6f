"""The validation report of an uploaded model: every problem found, errors apart from warnings.

An *error* means the model cannot be deployed (it would not parse, or would fail at run time in a
way the engine can tell in advance); a *warning* means it deploys but something is probably not what
the analyst meant (an element no path reaches, a gateway whose conditions can all be false, a task
offered to nobody in particular). Each issue names the element and the line of the file.

Checks add issues with ``report.error(code, message, element_id=..., line=...)`` or
``report.warning(...)``. Other checks plug in the same way, as ``extra_checks`` of
``processes.validation.definition_report``: each is called with the ``CheckedDefinition`` once the
file has parsed (``checked.tree``, ``checked.process.id``) and adds to ``checked.report``. For
example a check of the decisions that business rule tasks reference::

    def check_decisions(checked):
        for task_id, line, decision_id in missing_decisions(checked.tree, checked.process.id, dmn_files):
            checked.report.error("decision_missing", f"Decision '{decision_id}' is not deployed.",
                                 element_id=task_id, line=line)

    checked = definition_report(content=bpmn_bytes, known_process_keys=keys, extra_checks=[check_decisions])
    checked.report.raise_for_errors()  # 400 with every error and the warnings, as the deploy does

``as_dict()`` is what the API returns and what a deployed version stores::

    {"valid": false,
     "errors": [{"severity": "error", "code": "timer_invalid", "message": "...", "element_id": "wait", "line": 12}],
     "warnings": [...]}

Error dicts keep the ``message``, ``line`` and ``element_id`` keys of ``DefinitionInvalidError.errors``
(see ``processes.bpmn_xml.error``), with ``severity`` and ``code`` added.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.exceptions import DefinitionInvalidError

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    """One problem of the model: where it is and what is wrong."""

    severity: str
    code: str
    message: str
    element_id: str | None = None
    line: int | None = None
    source: str = "bpmn"  # "dmn": the line is in one of the DMN files (named in the message), listed first

    def as_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "line": self.line, "element_id": self.element_id}


@dataclass
class ValidationReport:
    """Issues found in one uploaded file; ``tree`` and ``process_id`` are set once the file parses."""

    issues: list[Issue] = field(default_factory=list)
    tree: object = None
    process_id: str | None = None

    def error(self, code: str, message: str, *, element_id: str | None = None, line: int | None = None) -> None:
        self.issues.append(Issue(ERROR, code, message, element_id, line))

    def warning(self, code: str, message: str, *, element_id: str | None = None, line: int | None = None) -> None:
        self.issues.append(Issue(WARNING, code, message, element_id, line))

    def add_error_dicts(self, code: str, errors: list[dict], source: str = "bpmn") -> None:
        """Errors in the older ``{"message", "line", "element_id"}`` shape, under one code."""
        for item in errors:
            self.issues.append(Issue(ERROR, code, item["message"], item.get("element_id"), item.get("line"), source))

    def _sorted(self, severity: str) -> list[Issue]:
        found = [issue for issue in self.issues if issue.severity == severity]
        return sorted(found, key=lambda issue: (issue.source != "dmn", issue.line or 0))

    @property
    def errors(self) -> list[Issue]:
        return self._sorted(ERROR)

    @property
    def warnings(self) -> list[Issue]:
        return self._sorted(WARNING)

    @property
    def has_errors(self) -> bool:
        return any(issue.severity == ERROR for issue in self.issues)

    def as_dict(self) -> dict:
        return {
            "valid": not self.has_errors,
            "errors": [issue.as_dict() for issue in self.errors],
            "warnings": [issue.as_dict() for issue in self.warnings],
        }

    def raise_for_errors(self, message: str | None = None) -> None:
        """Raise ``DefinitionInvalidError`` with every error (and the warnings) when there is an error."""
        if not self.has_errors:
            return
        errors = self.errors
        if message is None:
            message = errors[0].message if len(errors) == 1 else f"The model has {len(errors)} errors."
        raise DefinitionInvalidError(
            message,
            [issue.as_dict() for issue in errors],
            warnings=[issue.as_dict() for issue in self.warnings],
        )
