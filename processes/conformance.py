"""The conformance run: deploy and run every BPMN file of a corpus written by other tools and engines.

For each file the product's own services are used (``definition_deploy``, ``instance_start``,
``human_task_complete``, ``timer_fire``), inside a transaction that is always rolled back, so the run
leaves no data behind. A file ends in one of these outcomes:

- ``ran_to_end``: deployed, and its instance completed with every user task auto-completed (with the
  defaults of its form, if it has one) and every timer fired;
- ``stopped``: deployed, but the instance did not reach an end (it waits for a message, hit the step
  or time limit, or is in an error state), with the reason;
- ``rejected``: the deploy refused the file with a clear reason (category and message);
- ``crashed``: anything else, an unexpected exception: a bug of the engine;
- ``dmn_parsed`` / ``dmn_rejected``: a DMN file read by ``engine.dmn.parse_dmn`` (decisions are
  deployed with the BPMN files whose business rule tasks call them: the DMN files beside a BPMN file
  are deployed with it, as ``import_designs`` does), or refused with the reason.

Messages are never delivered: a process waiting for one stops there, which is counted, not hidden.
"""

from __future__ import annotations

import csv
import re
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from engine.agencies import agency_ensure
from engine.dmn import parse_dmn
from engine.exceptions import DefinitionInvalidError, EngineError
from engine.forms import task_form
from engine.models import (
    BPMN_TIMER_KINDS,
    OPEN_TASK_STATUSES,
    HumanTask,
    InstanceStatus,
    MessageSubscription,
    MessageSubscriptionStatus,
    Timer,
    TimerStatus,
)
from engine.services import human_task_complete, instance_start, timer_fire
from engine.services.steps import runtime_of

from .library import decision_files_for, form_files_for, service_levels_file_for
from .services import definition_deploy

MANIFEST_NAME = "MANIFEST.tsv"
CORPUS_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2", ".xml", ".dmn")
DEFAULT_TIME_LIMIT = 10.0
DEFAULT_STEP_LIMIT = 100
RUNNER_AGENCY = "conformance"
RUNNER_USERNAME = "conformance-runner"

OUTCOMES = ("ran_to_end", "stopped", "rejected", "crashed", "dmn_parsed", "dmn_rejected")


class _TimeLimitReached(BaseException):
    """The per-file time limit ran out (a BaseException so that no ``except Exception`` swallows it)."""


@dataclass
class FileResult:
    """What happened to one file of the corpus."""

    path: str
    source: str
    outcome: str
    category: str = ""
    message: str = ""
    seconds: float = 0.0

    @property
    def deployed(self):
        return self.outcome in ("ran_to_end", "stopped")


@dataclass
class SourceCounts:
    files: int = 0
    deployed: int = 0
    ran_to_end: int = 0
    stopped: int = 0
    rejected: int = 0
    crashed: int = 0
    dmn_parsed: int = 0
    dmn_rejected: int = 0

    def add(self, result):
        self.files += 1
        self.deployed += int(result.deployed)
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)


@dataclass
class CorpusReport:
    results: list = field(default_factory=list)
    seconds: float = 0.0

    def by_source(self, folder_depth=0):
        """Counts per source; with ``folder_depth`` N, per the first N folders of the file's path instead
        (2 on the corpus gives one row per tool of the BPMN MIWG suite: ``bpmn-miwg/ADONIS 17.0``)."""
        counts = {}
        for result in self.results:
            key = result.source
            if folder_depth:
                parts = Path(result.path).parts[:-1]
                key = "/".join(parts[:folder_depth]) or "."
            counts.setdefault(key, SourceCounts()).add(result)
        return dict(sorted(counts.items()))

    def totals(self):
        total = SourceCounts()
        for result in self.results:
            total.add(result)
        return total

    def reasons(self, outcome):
        """How many files of ``outcome`` share each category, most frequent first."""
        tally = {}
        for result in self.results:
            if result.outcome == outcome:
                tally[result.category] = tally.get(result.category, 0) + 1
        return sorted(tally.items(), key=lambda item: (-item[1], item[0]))

    def as_dict(self):
        return {
            "seconds": round(self.seconds, 1),
            "sources": {source: asdict(counts) for source, counts in self.by_source().items()},
            "totals": asdict(self.totals()),
            "files": [asdict(result) | {"seconds": round(result.seconds, 3)} for result in self.results],
        }


# --- finding the files ---


def corpus_files(root):
    """(path, source) for every BPMN/DMN file of the corpus, in a stable order.

    With a ``MANIFEST.tsv`` (columns ``file`` and ``source_repo``) the manifest lists the files and names
    their sources; without one every BPMN/DMN file below ``root`` counts, grouped by its top folder.
    """
    root = Path(root)
    if root.is_file():
        return [(root, root.parent.name or ".")]
    manifest = root / MANIFEST_NAME
    if manifest.is_file():
        with manifest.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return sorted(
            ((root / row["file"], row.get("source_repo") or row["file"].split("/")[0]) for row in rows
             if row.get("file") and (root / row["file"]).is_file()),
            key=lambda item: str(item[0]),
        )
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.lower().endswith(CORPUS_SUFFIXES):
            relative = path.relative_to(root)
            files.append((path, relative.parts[0] if len(relative.parts) > 1 else "."))
    return files


def is_dmn(path, content):
    """A .dmn file, or an XML file in the DMN namespace that is not BPMN (BPMN files may declare DMN's)."""
    if path.name.lower().endswith(".dmn"):
        return True
    head = content[:4000]
    return b"www.omg.org/spec/DMN/" in head and b"www.omg.org/spec/BPMN/20100524/MODEL" not in head


# --- running one file ---


@contextmanager
def _time_limit(seconds):
    """Interrupt the block after ``seconds`` (in the main thread; elsewhere only the step limit holds)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum, _frame):
        raise _TimeLimitReached()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_file(path, source, *, relative=None, time_limit=DEFAULT_TIME_LIMIT, step_limit=DEFAULT_STEP_LIMIT):
    """Deploy and run one file inside a transaction that is rolled back; returns its ``FileResult``."""
    path = Path(path)
    result = FileResult(path=str(relative or path), source=source, outcome="crashed")
    started = time.monotonic()
    stage = {"name": "deploy"}
    try:
        content = path.read_bytes()
        if is_dmn(path, content):
            _check_dmn(path, content, result)
            return result
        with _time_limit(time_limit), transaction.atomic():
            try:
                _deploy_and_run(path, content, result, step_limit, stage)
            finally:
                transaction.set_rollback(True)
    except _TimeLimitReached:
        if stage["name"] == "run":
            result.outcome, result.category = "stopped", "time limit"
            result.message = f"The instance was still running after {time_limit:g}s."
        else:
            result.outcome, result.category = "crashed", "deploy time limit"
            result.message = f"Deploying took more than {time_limit:g}s."
    except Exception as error:  # noqa: BLE001 - a crash is what this run exists to find
        result.outcome, result.category = "crashed", f"{type(error).__name__} during {stage['name']}"
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        result.message = f"{type(error).__name__}: {error}{where}"
    finally:
        result.seconds = time.monotonic() - started
    return result


def _check_dmn(path, content, result):
    try:
        decisions = parse_dmn(content, path.name)
    except DefinitionInvalidError as error:
        result.outcome = "dmn_rejected"
        _category, result.message = rejection_reason(error)
        result.category = "DMN file refused" if "not well-formed" not in result.message else "invalid XML (DMN)"
        return
    result.outcome, result.category = "dmn_parsed", "parsed"
    result.message = f"{len(decisions.decisions)} decision(s)"


def _runner():
    user, _created = get_user_model().objects.get_or_create(
        username=RUNNER_USERNAME, defaults={"is_superuser": True, "is_staff": True}
    )
    return user


def _deploy_and_run(path, content, result, step_limit, stage):
    agency = agency_ensure(RUNNER_AGENCY, name="Conformance run")
    try:
        definition, _created = definition_deploy(
            content=content, filename=path.name, actor=None, agency=agency,
            form_files=form_files_for(path), service_levels_file=service_levels_file_for(path),
            decision_files=decision_files_for(path),
        )
    except DefinitionInvalidError as error:
        result.outcome = "rejected"
        result.category, result.message = rejection_reason(error)
        return
    stage["name"] = "run"
    result.outcome = "stopped"
    result.category, result.message = run_to_end(definition, _runner(), step_limit)
    if result.category == "ran to end":
        result.outcome = "ran_to_end"


def run_to_end(definition, runner, step_limit):
    """Start an instance and drive it: complete user tasks, fire timers. Returns (category, message)."""
    try:
        instance = instance_start(definition=definition, data={}, actor=runner)
    except EngineError as error:
        return "start refused", f"{type(error).__name__}: {error}"
    for _step in range(step_limit):
        instance.refresh_from_db()
        if instance.status == InstanceStatus.COMPLETED:
            return "ran to end", ""
        if instance.status != InstanceStatus.RUNNING:
            where = f" at '{instance.error_element_id}'" if instance.error_element_id else ""
            return f"{instance.status} state", f"{instance.error_message}{where}".strip()
        task = HumanTask.objects.filter(instance=instance, status__in=OPEN_TASK_STATUSES).order_by("pk").first()
        if task is not None:
            try:
                human_task_complete(task_id=task.pk, actor=runner, data=default_task_data(definition, task))
            except EngineError as error:
                return "task not completed", f"'{task.element_id}': {type(error).__name__}: {error}"
            continue
        timer = (
            Timer.objects.filter(instance=instance, status=TimerStatus.PENDING, kind__in=BPMN_TIMER_KINDS)
            .order_by("due_at", "pk").first()
        )
        if timer is not None:
            timer_fire(timer_id=timer.pk)
            continue
        return _waiting_reason(instance)
    return "step limit", f"Still running after {step_limit} steps (user tasks completed and timers fired)."


def _waiting_reason(instance):
    names = sorted(set(
        MessageSubscription.objects.filter(instance=instance, status=MessageSubscriptionStatus.WAITING)
        .values_list("message_name", flat=True)
    ))
    if names:
        return "waiting for a message", "Waits for " + ", ".join(f"'{name}'" for name in names) + "."
    blocked = runtime_of(instance).blocked_elements()
    services = [element_id for element_id, element_type, _state in blocked if "Service" in element_type]
    if services:
        return "service task not run", "Service tasks are not run by this engine; waits at " + ", ".join(
            f"'{element_id}'" for element_id in services) + "."
    if blocked:
        return "waiting", "Waits at " + ", ".join(
            f"'{element_id}' ({element_type}, {state.lower()})" for element_id, element_type, state in blocked) + "."
    return "waiting", "No open task, timer or message, and nothing of the process is waiting or running."


# --- default data for a form ---


def default_task_data(definition, task):
    """The data of the happy path: the form's defaults, and for each required field without one the first
    choice, the minimum, ``true`` or a text long enough."""
    form = task_form(definition.element_catalog, task.element_id)
    if not form:
        return {}
    value = _default_value(form["schema"], form["schema"])
    return value if isinstance(value, dict) else {}


def _resolve(schema, root):
    reference = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(reference, str) and reference.startswith("#/"):
        node = root
        for part in reference[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node
    return schema if isinstance(schema, dict) else {}


def _default_value(schema, root, depth=0):
    schema = _resolve(schema, root)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "object" or ("properties" in schema and depth < 5):
        required = set(schema.get("required") or [])
        values = {}
        for name, child in (schema.get("properties") or {}).items():
            child = _resolve(child, root)
            if "default" in child or name in required:
                values[name] = _default_value(child, root, depth + 1)
        return values
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True  # the happy path: "complete?", "approved?" answered yes
    if kind == "array":
        return []
    if kind == "null":
        return None
    return "x" * int(schema.get("minLength", 1) or 1)


# --- rejection reasons ---

_CATEGORIES = (
    (r"not well-formed XML", "invalid XML"),
    (r"DOCTYPE|ENTITY declarations", "DOCTYPE refused"),
    (r"root element must be bpmn:definitions", "not a BPMN file"),
    (r"No bpmn:process is executable|Process \S+ is not executable", "not executable (isExecutable=false)"),
    (r"contains no bpmn:process", "no process"),
    (r"Duplicate id", "duplicate id"),
    (r"Sequence flow '", "broken sequence flow"),
    (r"Script format", "script language not supported"),
    (r"Script does not compile|script task has no script", "script outside the safe subset"),
    (r"^Condition outside the safe subset|^Condition does not compile", "condition outside the safe subset"),
    (r"^Timer expression outside|^Timer \w+ is neither|timer's \w+ is empty|timer has no|Time Specification Error",
     "timer expression not supported"),
    (r"names no bpmn:|has no name; events", "reference to a missing element"),
    (r"Called process|The process '.*' was not found", "called process not in the file"),
    (r"calledElement", "call activity without calledElement"),
    (r"get_decision_ref|decision", "business rule task without a decision (DMN)"),
    (r"Multiple outgoing flows are not supported", "activity with several outgoing flows"),
    (r"Exactly one start event is required in a SubWorkflow|No start event found", "no start event"),
    (r"Cannot resolve data(Input|Output)Association|Data Store with name", "data association not supported"),
    (r"multiinstance task must specify", "multi-instance without cardinality or input"),
    (r"service levels", "service levels"),
    (r"(?i)\bform\b|JSON", "form"),
    (r"boundary event needs an event definition", "boundary event without an event definition"),
    (r"camunda:|zeebe:", "task extension outside the safe subset"),
    (r"Unsupported Catch Event|NodeParser|not supported", "unsupported element"),
)


def rejection_reason(error):
    """(short category, message with line and element) of a ``DefinitionInvalidError``."""
    details = getattr(error, "errors", None) or [{"message": str(error)}]
    first = details[0]
    message = first.get("message") or str(error)
    where = ", ".join(part for part in (
        f"line {first['line']}" if first.get("line") else "",
        f"element '{first['element_id']}'" if first.get("element_id") else "",
    ) if part)
    category = next((name for pattern, name in _CATEGORIES if re.search(pattern, message)), None)
    category = category or next((name for pattern, name in _CATEGORIES if re.search(pattern, str(error))), None)
    if category is None:
        category = _engine_category(f"{error} {message}")
    more = f" (+{len(details) - 1} more)" if len(details) > 1 else ""
    return category, f"{message}{more}" + (f" [{where}]" if where else "")


def _engine_category(text):
    match = re.search(r"cannot be (executed|parsed): (.*)", text)
    if match:
        return "engine: " + re.sub(r"\s+", " ", match.group(2)).split(".")[0][:70]
    return "other"


# --- the whole corpus ---


def run_corpus(root, *, time_limit=DEFAULT_TIME_LIMIT, step_limit=DEFAULT_STEP_LIMIT, progress=None):
    """Check every file of the corpus at ``root``; ``progress(index, total, result)`` hears of each."""
    root = Path(root)
    files = corpus_files(root)
    report = CorpusReport()
    started = time.monotonic()
    base = root if root.is_dir() else root.parent
    for index, (path, source) in enumerate(files, start=1):
        result = check_file(path, source, relative=path.relative_to(base), time_limit=time_limit,
                            step_limit=step_limit)
        report.results.append(result)
        if progress:
            progress(index, len(files), result)
    report.seconds = time.monotonic() - started
    return report


_COLUMNS = ("files", "deployed", "ran_to_end", "stopped", "rejected", "crashed", "dmn_parsed", "dmn_rejected")
_HEADINGS = ("files", "deployed", "ran to end", "stopped", "rejected", "crashed", "DMN parsed", "DMN rejected")


def format_table(report, folder_depth=0):
    """The per-source table (or per folder, see ``CorpusReport.by_source``) with totals, as plain text."""
    rows = [(source, counts) for source, counts in report.by_source(folder_depth).items()]
    rows.append(("TOTAL", report.totals()))
    width = max([len("source")] + [len(name) for name, _counts in rows])
    header = "source".ljust(width) + "".join(f"  {heading:>11}" for heading in _HEADINGS)
    lines = [header, "-" * len(header)]
    for index, (name, counts) in enumerate(rows):
        if index == len(rows) - 1:
            lines.append("-" * len(header))
        lines.append(name.ljust(width) + "".join(f"  {getattr(counts, column):>11}" for column in _COLUMNS))
    return "\n".join(lines)
