"""Deploying BPMN files as versioned process definitions."""

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone
from lxml import etree

from engine import history
from engine.agencies import membership_of
from engine.dmn import parse_dmn_files
from engine.exceptions import DefinitionInvalidError, PermissionDeniedError
from engine.models import Role, Timer, TimerKind, TimerStatus
from engine.spiff import parse_process
from engine.spiff.timer_values import first_occurrence

from .bpmn_xml import check_bpmn_structure, executable_processes, parse_xml
from .extensions import element_catalog
from .models import ProcessDefinition
from .service_levels import CONFIG_FILENAME as SERVICE_LEVELS_FILENAME
from .service_levels import read_service_levels
from .step_texts import read_step_texts
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


def definition_validate(*, content, decisions=None):
    """Check an uploaded file; returns (tree, process info). Raises ``DefinitionInvalidError``.

    ``decisions`` (``engine.dmn.DecisionSet``) are those its business rule tasks may call.
    """
    tree = parse_xml(content)
    errors = check_bpmn_structure(tree)
    if errors:
        raise DefinitionInvalidError("The BPMN file is not valid.", errors)
    process = _main_process(tree)
    errors = check_runnable_parts(tree, process.id)
    if errors:
        raise DefinitionInvalidError("The process has scripts, conditions or timers that cannot run.", errors)
    parsed = parse_process(tree.getroot(), process.id, decisions)
    return tree, process, parsed


def _require_deployer(actor, agency):
    """Analysts deploy for their own agency; superusers and system commands (actor None) for any."""
    if actor is None or actor.is_superuser:
        return
    membership = membership_of(actor)
    if membership is None or membership.role != Role.ANALYST:
        raise PermissionDeniedError(f"{actor.get_username()} is not a process analyst.")
    if membership.agency_id != agency.pk:
        raise PermissionDeniedError(f"{actor.get_username()} may deploy only for {membership.agency.code}.")


def _require_key_of(agency, key):
    owner = ProcessDefinition.objects.filter(key=key).exclude(agency=agency).values_list("agency__code", flat=True)
    owner = owner.first()
    if owner is not None:
        message = f"The process key '{key}' belongs to agency '{owner}'; give the process another id."
        raise DefinitionInvalidError(message, [{"message": message, "line": None, "element_id": key}])


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
    part of its checksum. Returns (definition, created).
    """
    _require_deployer(actor, agency)
    decision_files = dict(decision_files or {})
    decisions = parse_dmn_files(decision_files)
    tree, process, parsed = definition_validate(content=content, decisions=decisions)
    catalog = element_catalog(tree, process.id, form_files)
    levels, errors = read_service_levels(tree, process.id, service_levels_file)
    if errors:
        raise DefinitionInvalidError("The service levels cannot be read.", errors)
    _require_key_of(agency, process.id)
    extra_files = dict(catalog.used_form_files)
    if service_levels_file is not None:
        extra_files[SERVICE_LEVELS_FILENAME] = service_levels_file
    extra_files.update({f"dmn:{name}": data for name, data in decision_files.items()})
    sha256 = _checksum(content, extra_files)
    text = _as_text(content, tree)
    texts = read_step_texts(tree, process.id)
    for _attempt in range(3):
        existing = ProcessDefinition.objects.filter(key=process.id, sha256=sha256).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                definition = _create_version(process, parsed, text, sha256, filename, actor, agency, catalog, levels,
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


def _create_version(process, parsed, text, sha256, filename, actor, agency, catalog, levels, decision_files, texts):
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
        element_catalog=catalog.entries,
        service_levels=levels,
        decision_files=decision_files,
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
