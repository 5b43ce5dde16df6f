"""What the citizen and the officer read about a process: names in two languages, legal basis, documents.

Bundled public-service processes are written in Bahasa Indonesia; the API shows an English name beside
each Indonesian one. Both live in the model, so an uploaded file carries them too. The analyst writes
extension properties (Camunda 7, Zeebe and SpiffArena property lists alike) on the process, its lanes
and its flow elements:

- ``name_en`` (or ``nameEn``): the English name of the element (the BPMN ``name`` is the Indonesian one);
- ``name_id`` on a lane: the Indonesian name to show when the lane's name is a group reference
  (``disperindag/Verifikator Teknis`` is shown as its ``name_id``, say "Verifikator Dinas Perindustrian");
- ``documents`` on a task: the documents the step needs, separated by ``;``, each ``Indonesian | English``
  (the English part may be left out).

The ``bpmn:documentation`` of an element is its note, for the bundled processes the legal basis of the
step. The result is stored on the definition (``step_texts``)::

    {"process": {"id": ..., "en": ...},
     "lanes": {lane name: {"id": ..., "en": ...}},
     "elements": {element id: {"id": ..., "en": ..., "note": ..., "documents": [{"id": ..., "en": ...}]}}}

Only what the model says is stored; readers fall back to the Indonesian name where no English is given.
"""

from .bpmn_xml import bpmn, documentation_text, element_info, process_element
from .service_levels import _properties

ENGLISH_NAME_PROPERTIES = ("name_en", "nameEn")
DOCUMENTS_PROPERTY = "documents"


def _english(element):
    properties = _properties(element)
    for name in ENGLISH_NAME_PROPERTIES:
        if name in properties and properties[name][0]:
            return properties[name][0]
    return None


def _documents(element):
    text = _properties(element).get(DOCUMENTS_PROPERTY, ("", None))[0]
    documents = []
    for item in text.split(";"):
        indonesian, _separator, english = item.partition("|")
        if indonesian.strip():
            documents.append({"id": indonesian.strip(), "en": english.strip() or indonesian.strip()})
    return documents


def _texts(name, english):
    return {"id": name or "", "en": english or name or ""}


def read_step_texts(tree, process_id):
    """The names, notes and documents of one process (a JSON-ready dict, see the module docstring)."""
    process = process_element(tree, process_id)
    texts = {"process": _texts(process.get("name") or process_id, _english(process)), "lanes": {}, "elements": {}}
    for lane in process.iter(bpmn("lane")):
        if lane.get("name"):
            shown = _properties(lane).get("name_id", ("", None))[0] or lane.get("name")
            texts["lanes"][lane.get("name")] = _texts(shown, _english(lane))
    elements = {element.get("id"): element for element in process.iter() if element.get("id")}
    for element_id, info in element_info(tree, process_id).items():
        element = elements.get(element_id)
        if element is None:
            continue
        entry = {}
        english, documents = _english(element), _documents(element)
        if english:
            entry.update(_texts(info.name, english))
        if documents:
            entry["documents"] = documents
        note = documentation_text(element)
        if note:
            entry["note"] = note
        if entry:
            texts["elements"][element_id] = entry
    return texts


def stage_texts(step_texts, element_id, name):
    """``{"id", "en"}`` for a task: the model's English name if it has one, else its name twice."""
    entry = ((step_texts or {}).get("elements") or {}).get(element_id) or {}
    return {"id": entry.get("id") or name or "", "en": entry.get("en") or name or ""}


def lane_texts(step_texts, lane):
    """``{"id", "en"}`` for a lane name, or None without a lane."""
    if not lane:
        return None
    entry = ((step_texts or {}).get("lanes") or {}).get(lane) or {}
    return {"id": entry.get("id") or lane, "en": entry.get("en") or lane}


def process_texts(step_texts, name):
    entry = (step_texts or {}).get("process") or {}
    return {"id": entry.get("id") or name or "", "en": entry.get("en") or name or ""}


def documents_of(step_texts, element_id):
    """The documents a step needs, ``[{"id", "en"}]`` (empty when the model names none)."""
    return list((((step_texts or {}).get("elements") or {}).get(element_id) or {}).get("documents") or [])
