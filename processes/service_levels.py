"""Service levels read at deploy time: what a process and its tasks promise, in working time.

Public services promise results in working days ("5 hari kerja"). An analyst writes the promise
in the model as an extension property, in whatever modeling tool the agency uses, or in a
``service_levels.json`` beside the bundled process file:

- ``serviceLevel`` on the process: the promised completion of an application (``P5D``,
  ``5 hari kerja``, ``5d``); on a user or manual task: the task's own due time (``PT4H``,
  ``4 jam``, ``1d``). Always working time, counted on the agency's calendar.
- ``calendar="business"`` (or ``businessTime="true"``) on a timer event: its duration is counted
  in working time instead of wall-clock time.
- ``pausesServiceLevel="true"`` on a task or catch event: while the process waits there, the
  service-level clock stands still. Every element in an applicant lane pauses it anyway.
- ``escalation`` on a task: what happens once when it passes its due time: ``notify`` (tell the
  agency's supervisors), ``reassign:<group>`` (offer it to that group instead), or ``none``.

Properties are read from ``camunda:properties``, ``zeebe:properties`` and
``spiffworkflow:properties`` alike. The result is stored on the definition (``service_levels``).
"""

import json
import re

from engine.agencies import is_applicant_lane
from engine.calendars import parse_business_duration
from engine.calendars.errors import DurationInvalidError

from .bpmn_xml import element_info, error, process_element
from .extensions import CAMUNDA_NS, SPIFF_NS, ZEEBE_NS

CONFIG_FILENAME = "service_levels.json"
SERVICE_LEVEL_NAMES = ("serviceLevel", "service_level", "sla")
ESCALATIONS = ("notify", "none")
HUMAN_TASKS = ("userTask", "manualTask")
WAITING_ELEMENTS = ("userTask", "manualTask", "intermediateCatchEvent", "receiveTask")

_SHORTHAND = re.compile(
    r"^\s*(?P<number>\d+(?:[.,]\d+)?)\s*(?P<unit>d|day|days|hari(?:\s+kerja)?|working\s+days?|"
    r"h|hour|hours|jam(?:\s+kerja)?|working\s+hours?)\s*$",
    re.IGNORECASE,
)


def normalize_duration(text):
    """An ISO 8601 working-time duration for ``text`` (``P5D``, ``5 hari kerja``, ``4h``); ValueError if none."""
    text = (text or "").strip()
    match = _SHORTHAND.match(text)
    if match:
        number = match.group("number").replace(",", ".")
        unit = match.group("unit").lower()
        in_hours = unit == "h" or unit.startswith(("hour", "jam")) or "hour" in unit
        text = f"PT{number}H" if in_hours else f"P{number}D"
    parse_business_duration(text)
    return text.upper()


def extension_properties(element):
    """Extension properties of one element, from all three dialects: {name: (value, line)}."""
    found = {}
    extensions = [child for child in element if isinstance(child.tag, str) and child.tag.endswith("extensionElements")]
    for container in extensions:
        for namespace in (CAMUNDA_NS, ZEEBE_NS, SPIFF_NS):
            for node in container.iter(f"{{{namespace}}}property"):
                name = node.get("name")
                if name:
                    found[name] = ((node.get("value") or node.text or "").strip(), node.sourceline)
    return found


def _first(properties, names):
    for name in names:
        if name in properties:
            return properties[name]
    return None


class _Reader:
    def __init__(self):
        self.levels = {"process": None, "tasks": {}, "business_timers": [], "pauses": [], "escalations": {}}
        self.errors = []

    def duration(self, text, line, element_id):
        try:
            return normalize_duration(text)
        except (DurationInvalidError, ValueError) as problem:
            self.errors.append(error(f"Invalid service level {text!r}: {problem}", line, element_id))
            return None

    def escalation(self, text, line, element_id):
        action = (text or "").strip()
        if action in ESCALATIONS or (action.startswith("reassign:") and action.split(":", 1)[1].strip()):
            return action
        self.errors.append(error(
            f"Invalid escalation {text!r}: use notify, none or reassign:<group>.", line, element_id))
        return None

    def read_process(self, process):
        found = _first(extension_properties(process), SERVICE_LEVEL_NAMES)
        if found:
            self.levels["process"] = self.duration(found[0], found[1], process.get("id"))

    def read_element(self, element, info):
        properties = extension_properties(element)
        element_id = info.id
        if info.tag in HUMAN_TASKS:
            found = _first(properties, SERVICE_LEVEL_NAMES)
            if found and (level := self.duration(found[0], found[1], element_id)):
                self.levels["tasks"][element_id] = level
            if "escalation" in properties and (action := self.escalation(*properties["escalation"], element_id)):
                self.levels["escalations"][element_id] = action
        calendar = properties.get("calendar", ("", None))[0].lower()
        business = properties.get("businessTime", ("", None))[0].lower()
        if calendar == "business" or business == "true":
            self.levels["business_timers"].append(element_id)
        pauses = properties.get("pausesServiceLevel", ("", None))[0].lower() == "true"
        if info.tag in WAITING_ELEMENTS and (pauses or is_applicant_lane(info.lane)):
            self.levels["pauses"].append(element_id)

    def read_config(self, config, filename):
        """``service_levels.json``: {"process": ..., "tasks": {id: level}, "escalations": {id: action},
        "business_timers": [ids], "pauses": [ids]}; it wins over the model's properties."""
        if not isinstance(config, dict):
            self.errors.append(error(f"{filename} must hold a JSON object."))
            return
        if config.get("process"):
            self.levels["process"] = self.duration(str(config["process"]), None, filename)
        for element_id, level in (config.get("tasks") or {}).items():
            if normalized := self.duration(str(level), None, element_id):
                self.levels["tasks"][element_id] = normalized
        for element_id, action in (config.get("escalations") or {}).items():
            if checked := self.escalation(str(action), None, element_id):
                self.levels["escalations"][element_id] = checked
        for key in ("business_timers", "pauses"):
            for element_id in config.get(key) or []:
                if element_id not in self.levels[key]:
                    self.levels[key].append(str(element_id))


def read_service_levels(tree, process_id, config_bytes=None, config_name=CONFIG_FILENAME):
    """The service levels of one process (dict, JSON-ready); raises nothing, returns (levels, errors)."""
    reader = _Reader()
    process = process_element(tree, process_id)
    reader.read_process(process)
    elements = {element.get("id"): element for element in process.iter() if element.get("id")}
    for element_id, info in element_info(tree, process_id).items():
        if element_id in elements:
            reader.read_element(elements[element_id], info)
    if config_bytes is not None:
        try:
            config = json.loads(config_bytes)
        except (ValueError, UnicodeDecodeError) as problem:
            reader.errors.append(error(f"{config_name} is not valid JSON: {problem}"))
        else:
            reader.read_config(config, config_name)
    return reader.levels, reader.errors
