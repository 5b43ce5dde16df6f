"""The bundled process library: one folder per process under ``processes/library/``."""

import json
from pathlib import Path

from engine.agencies import agency_ensure, default_agency
from engine.exceptions import DefinitionInvalidError, PermissionDeniedError

from .service_levels import CONFIG_FILENAME as SERVICE_LEVELS_FILENAME
from .services import definition_deploy

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
AGENCY_FILENAME = "agency.json"


def bpmn_files(folder):
    """Every .bpmn file below ``folder``, in a stable order."""
    return sorted(Path(folder).rglob("*.bpmn"))


def form_files_for(bpmn_path):
    """The JSON files deployed with a BPMN file, by name: those beside it and in its folder's ``forms/``.

    SpiffArena keeps the files its ``formJsonSchemaFilename`` properties name beside the model; a form
    named after its task (``forms/<element id>.json``) lives in ``forms/``, which wins on a clash.
    """
    folder = Path(bpmn_path).parent
    files = {}
    for directory in (folder, folder / "forms"):
        if directory.is_dir():
            files.update({path.name: path.read_bytes() for path in sorted(directory.glob("*.json"))})
    return files


def service_levels_file_for(bpmn_path):
    """The ``service_levels.json`` beside a BPMN file, if there is one (bytes), else None."""
    config = Path(bpmn_path).parent / SERVICE_LEVELS_FILENAME
    return config.read_bytes() if config.is_file() else None


def decision_files_for(bpmn_path):
    """The DMN files beside a BPMN file, by name (its business rule tasks call their decisions)."""
    return {path.name: path.read_bytes() for path in sorted(Path(bpmn_path).parent.glob("*.dmn"))}


def deploy_folder(folder, *, actor, agency, report=None):
    """Deploy every BPMN file below ``folder``, each with its form files (``form_files_for``) and the DMN
    files beside it (``decision_files_for``); returns
    (deployed, unchanged, rejected) lists of names.

    A rejected file does not stop the others; ``report(path, outcome, detail)`` is told about each.
    """
    deployed, unchanged, rejected = [], [], []
    for path in bpmn_files(folder):
        try:
            definition, created = definition_deploy(
                content=path.read_bytes(), filename=path.name, actor=actor, agency=agency,
                form_files=form_files_for(path), service_levels_file=service_levels_file_for(path),
                decision_files=decision_files_for(path),
            )
        except (DefinitionInvalidError, PermissionDeniedError) as error:
            rejected.append(path.name)
            detail = "; ".join(
                f"line {item.get('line')}: {item.get('message')}" if item.get("line") else item.get("message", "")
                for item in getattr(error, "errors", [])
            ) or str(error)
            if report:
                report(path, "rejected", detail)
            continue
        (deployed if created else unchanged).append(path.name)
        if report:
            report(path, "deployed" if created else "unchanged", f"{definition.key} v{definition.version}")
    return deployed, unchanged, rejected


def _ensure(entry):
    return agency_ensure(entry["code"], name=entry.get("name"), name_en=entry.get("name_en", ""))


def folder_agencies(folder):
    """The agency a library folder's processes belong to and the partner agencies its lanes name.

    ``agency.json`` in the folder: ``{"agency": {"code", "name", "name_en"}, "partners": [...]}``; each
    is created if it does not exist yet (existing agencies keep their names). Without the file: (None, []).
    """
    config = Path(folder) / AGENCY_FILENAME
    if not config.is_file():
        return None, []
    try:
        entries = json.loads(config.read_text(encoding="utf-8"))
        owner = _ensure(entries["agency"])
        partners = [_ensure(entry) for entry in entries.get("partners", [])]
    except (ValueError, KeyError, TypeError) as problem:
        raise DefinitionInvalidError(f"{config} cannot be read: {problem}") from problem
    return owner, partners


def deploy_library(*, actor=None, agency=None, report=None, library_dir=LIBRARY_DIR):
    """Deploy each folder of the bundled library for its own agency (``agency.json``), else for
    ``agency`` or the default agency; ``agency`` given wins for every folder. Returns (deployed,
    unchanged, rejected) like ``deploy_folder``."""
    totals = ([], [], [])
    for folder in sorted(path for path in Path(library_dir).iterdir() if path.is_dir()):
        owner, _partners = folder_agencies(folder)
        results = deploy_folder(folder, actor=actor, agency=agency or owner or default_agency(), report=report)
        for total, names in zip(totals, results, strict=True):
            total.extend(names)
    return totals
