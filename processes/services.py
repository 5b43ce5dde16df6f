"""Deploying BPMN files as versioned process definitions."""

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone
from lxml import etree

from engine import history
from engine.agencies import require_analyst_of
from engine.exceptions import DefinitionInvalidError
from engine.models import Timer, TimerKind, TimerStatus
from engine.spiff.timer_values import first_occurrence

from .bpmn_xml import parse_xml
from .models import ProcessDefinition
from .service_levels import CONFIG_FILENAME as SERVICE_LEVELS_FILENAME
from .step_texts import read_step_texts
from .validation import definition_report


def definition_validate(*, content, known_process_keys=frozenset(), decision_files=None):
    """Check an uploaded file; returns (tree, process info, parsed). Raises ``DefinitionInvalidError``
    with every error of the report (``processes.validation.definition_report``)."""
    checked = definition_report(content=content, known_process_keys=known_process_keys,
                                decision_files=decision_files)
    checked.report.raise_for_errors()
    return checked.tree, checked.process, checked.parsed


def agency_process_keys(agency):
    """Keys of the processes the agency has deployed (call activities may name them)."""
    if agency is None:
        return set()
    return set(ProcessDefinition.objects.filter(agency=agency).values_list("key", flat=True).distinct())


def _require_deployer(actor, agency):
    """Analysts deploy for their own agency; superusers and system commands (actor None) for any."""
    require_analyst_of(actor, agency.pk, doing="deploy")


def definition_check(*, content, actor, agency, form_files=None, service_levels_file=None, decision_files=None):
    """The validation report of a file as deploying it would check it, without deploying (a dry run)."""
    _require_deployer(actor, agency)
    checked = definition_report(content=content, known_process_keys=agency_process_keys(agency),
                                form_files=form_files, service_levels_file=service_levels_file,
                                decision_files=decision_files)
    return checked.report


def _require_key_of(agency, key):
    owner = ProcessDefinition.objects.filter(key=key).exclude(agency=agency).values_list("agency__code", flat=True)
    owner = owner.first()
    if owner is not None:
        message = f"The process key '{key}' belongs to agency '{owner}'; give the process another id."
        raise DefinitionInvalidError(message, [{"severity": "error", "code": "key_taken", "message": message,
                                                 "line": None, "element_id": key}])


def _checksum(content, form_files):
    """sha256 of the BPMN file, followed by the names and contents of the form files it uses."""
    digest = hashlib.sha256(content)
    for name in sorted(form_files):
        digest.update(b"\0" + name.encode("utf-8") + b"\0" + form_files[name])
    return digest.hexdigest()


def definition_deploy(*, content, filename, actor, agency, form_files=None, service_levels_file=None,
                      decision_files=None):
    """Deploy a BPMN file for ``agency`` as the next version of its process.

    ``form_files`` (``{file name: bytes}``) are the JSON Schema forms deployed with it (see
    ``processes.forms``); ``service_levels_file`` is an optional ``service_levels.json`` (see
    ``processes.service_levels``). Identical content (file, the forms it uses and the service
    levels file) returns the existing version. ``decision_files`` (``{file name: bytes}``) are the DMN
    files its business rule tasks call (see ``engine.dmn``); they are stored with the version and are
    part of its checksum. Returns (definition, created). Every check runs first
    (``processes.validation``); errors refuse the deploy, the version stores the report (warnings).
    """
    _require_deployer(actor, agency)
    decision_files = dict(decision_files or {})
    checked = definition_report(content=content, known_process_keys=agency_process_keys(agency),
                                form_files=form_files, service_levels_file=service_levels_file,
                                decision_files=decision_files)
    checked.report.raise_for_errors()
    process, catalog = checked.process, checked.catalog
    _require_key_of(agency, process.id)
    extra_files = dict(catalog.used_form_files)
    if service_levels_file is not None:
        extra_files[SERVICE_LEVELS_FILENAME] = service_levels_file
    extra_files.update({f"dmn:{name}": data for name, data in decision_files.items()})
    sha256 = _checksum(content, extra_files)
    text = _as_text(content, checked.tree)
    texts = read_step_texts(checked.tree, process.id)
    for _attempt in range(3):
        existing = ProcessDefinition.objects.filter(key=process.id, sha256=sha256).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                definition = _create_version(process, checked, text, sha256, filename, actor, agency,
                                             decision_texts(decision_files), texts)
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


def decision_texts(decision_files):
    """The DMN files as text to store, by file name (decoded as the XML declares; they parsed already)."""
    return {name: _as_text(data, parse_xml(data)) for name, data in decision_files.items()}


def _create_version(process, checked, text, sha256, filename, actor, agency, decision_files, texts):
    parsed = checked.parsed
    # Lock the current version: a start timer of it firing now (which takes the same lock) finishes
    # first, so the start timers replaced below include the next occurrence it schedules.
    current = ProcessDefinition.objects.select_for_update(no_key=True).filter(key=process.id).order_by("-version")
    latest = getattr(current.first(), "version", None)
    definition = ProcessDefinition.objects.create(
        key=process.id,
        agency=agency,
        version=(latest or 0) + 1,
        name=process.name or parsed.name or process.id,
        sha256=sha256,
        filename=filename or "",
        bpmn_xml=text,
        element_catalog=checked.catalog.entries,
        service_levels=checked.service_levels,
        decision_files=decision_files,
        validation_report=checked.report.as_dict(),
        step_texts=texts,
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
