"""Deploying BPMN files as versioned process definitions."""

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from engine import history
from engine.exceptions import DefinitionInvalidError
from engine.models import Timer, TimerKind, TimerStatus
from engine.spiff import parse_process
from engine.spiff.timer_values import first_occurrence

from lxml import etree

from .bpmn_xml import check_bpmn_structure, executable_processes, parse_xml
from .models import ProcessDefinition
from .validation import check_runnable_parts


def _called_process_ids(tree):
    root = tree.getroot()
    return {node.get("calledElement") for node in root.iter("{*}callActivity") if node.get("calledElement")}


def _main_process(tree):
    """The process to deploy: the executable one no call activity calls (the first, if several)."""
    candidates = executable_processes(tree)
    if not candidates:
        raise DefinitionInvalidError(
            "The file has no executable process.",
            [{"message": "No bpmn:process is executable (isExecutable=\"true\").", "line": None,
              "element_id": None}],
        )
    called = _called_process_ids(tree)
    top_level = [process for process in candidates if process.id not in called]
    return (top_level or candidates)[0]


def definition_validate(*, content):
    """Check an uploaded file; returns (tree, process info). Raises ``DefinitionInvalidError``."""
    tree = parse_xml(content)
    errors = check_bpmn_structure(tree)
    if errors:
        raise DefinitionInvalidError("The BPMN file is not valid.", errors)
    process = _main_process(tree)
    errors = check_runnable_parts(tree, process.id)
    if errors:
        raise DefinitionInvalidError("The process has scripts, conditions or timers that cannot run.", errors)
    parsed = parse_process(tree.getroot(), process.id)
    return tree, process, parsed


def definition_deploy(*, content, filename, actor):
    """Deploy a BPMN file as the next version of its process; identical content returns the existing one.

    Returns (definition, created).
    """
    tree, process, parsed = definition_validate(content=content)
    sha256 = hashlib.sha256(content).hexdigest()
    text = _as_text(content, tree)
    for _attempt in range(3):
        existing = ProcessDefinition.objects.filter(key=process.id, sha256=sha256).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                definition = _create_version(process, parsed, text, sha256, filename, actor)
            return definition, True
        except IntegrityError:
            continue  # someone deployed the same key at the same moment: take the next number
    raise DefinitionInvalidError("The process is being deployed by someone else right now; try again.")


def _as_text(content, tree):
    """The file as text to store: unchanged when it is UTF-8, else re-encoded as UTF-8 by lxml."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _create_version(process, parsed, text, sha256, filename, actor):
    # Lock the current version: a start timer of it firing now (which takes the same lock) finishes
    # first, so the start timers replaced below include the next occurrence it schedules.
    current = ProcessDefinition.objects.select_for_update(no_key=True).filter(key=process.id).order_by("-version")
    latest = getattr(current.first(), "version", None)
    definition = ProcessDefinition.objects.create(
        key=process.id,
        version=(latest or 0) + 1,
        name=process.name or parsed.name or process.id,
        sha256=sha256,
        filename=filename or "",
        bpmn_xml=text,
        deployed_by=actor,
    )
    history.record_definition_deployed(definition, actor=actor)
    _replace_start_timers(definition, parsed)
    return definition


def _replace_start_timers(definition, parsed):
    """Only the newest version starts instances on its own: older versions' start timers are cancelled."""
    older = Timer.objects.filter(
        definition__key=definition.key, kind=TimerKind.START, instance__isnull=True, status=TimerStatus.PENDING
    ).exclude(definition=definition)
    for timer in older:
        timer.status = TimerStatus.CANCELLED
        timer.save(update_fields=["status"])
        history.record_timer_cancelled(timer, reason=f"Version {definition.version} was deployed.")
    now = timezone.now()
    for start_timer in parsed.start_timers():
        due_at, remaining, _interval = first_occurrence(start_timer.timer_type, start_timer.expression, now)
        timer = Timer.objects.create(
            definition=definition,
            element_id=start_timer.element_id,
            kind=TimerKind.START,
            timer_type=start_timer.timer_type,
            expression=start_timer.expression,
            due_at=due_at,
            remaining_cycles=remaining,
        )
        history.record_timer_scheduled(timer)
