"""Reading assignment, dates, priority and forms from BPMN as Camunda 7, Camunda 8 and SpiffArena write them."""

import json

import pytest
from jsonschema import Draft202012Validator

from engine.exceptions import DefinitionInvalidError
from processes.bpmn_xml import parse_xml
from processes.expression_translator import UntranslatableExpression, camunda_value, feel, split_camunda_list
from processes.extensions import element_catalog
from processes.library import LIBRARY_DIR, deploy_folder, form_files_for
from processes.models import ProcessDefinition
from tests.conftest import FIXTURES, fixture_bytes

ASSIGNMENT = FIXTURES / "assignment"
FORMS = FIXTURES / "forms"


def _catalog(relative, process_id, form_files=None):
    tree = parse_xml(fixture_bytes(relative))
    if form_files is None:
        form_files = form_files_for(FIXTURES / relative)
    return element_catalog(tree, process_id, form_files)


def _errors(relative, process_id, form_files=None):
    with pytest.raises(DefinitionInvalidError) as raised:
        _catalog(relative, process_id, form_files)
    return raised.value.errors


def _literal(text, value=None):
    return {"text": text, "value": text if value is None else value}


def _expression(text, expression):
    return {"text": text, "expression": expression}


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    {task}
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _minimal_catalog(task_xml, form_files=None):
    return element_catalog(parse_xml(MINIMAL.replace("{task}", task_xml).encode()), "p", form_files or {})


# ----------------------------------------------------------------------------------- Camunda 7


def test_camunda7_attributes_give_assignee_candidates_dates_and_priority():
    """camunda:* attributes: assignee expression, comma-separated candidates, P3D due date, priority 70."""
    entry = _catalog("assignment/camunda7_assignment.bpmn", "license_renewal_c7").entries["review_renewal"]
    assert entry == {
        "line": 22,
        "assignee": _expression("${reviewer}", "reviewer"),
        "candidate_users": [_literal("officer"), _literal("ghost_user")],
        "candidate_groups": [_literal("Clerks"), _literal("other/Verifier")],
        "due_date": _literal("P3D"),
        "follow_up_date": _expression("${follow_up_on}", "follow_up_on"),
        "priority": _literal("70", 70),
    }


def test_camunda7_deferred_expressions_and_subprocess_tasks_are_read_and_priority_clamped():
    """#{...} is an expression like ${...}; a manual task inside a sub-process has an entry; 250 becomes 100."""
    entries = _catalog("assignment/camunda7_assignment.bpmn", "license_renewal_c7").entries
    assert entries["approve_renewal"]["assignee"] == _expression("#{approver}", "approver")
    assert entries["approve_renewal"]["priority"] == _expression("${urgency}", "urgency")
    assert entries["archive_file"] == {
        "line": 39,
        "candidate_users": [_expression("${archivist}", "archivist")],
        "due_date": _literal("2026-12-01T09:00:00+07:00"),
        "priority": _literal("250", 100),
    }


# ----------------------------------------------------------------------------------- Camunda 8


def test_zeebe_extension_elements_give_assignment_schedule_and_priority():
    """zeebe:assignmentDefinition/taskSchedule/priorityDefinition: FEEL after '=', literals split on commas."""
    entries = _catalog("assignment/zeebe_assignment.bpmn", "license_renewal_c8").entries
    assert entries["check_documents"] == {
        "line": 8,
        "assignee": _expression("=applicant_user", "applicant_user"),
        "candidate_groups": [_literal("Front Office"), _literal("Clerks")],
        "due_date": _expression("=due_on", "due_on"),
        "follow_up_date": _literal("2026-11-30T09:00:00+07:00"),
        "priority": _literal("80", 80),
    }
    assert entries["decide_renewal"] == {
        "line": 19,
        "candidate_users": [_expression('=["officer", "second_officer"]', "['officer', 'second_officer']")],
        "candidate_groups": [_expression("=reviewers.groups", "reviewers['groups']")],
        "priority": _expression("=urgency", "urgency"),
    }


# ----------------------------------------------------------------------------------- SpiffArena


def test_spiffarena_tasks_get_entries_and_lane_owner_processes_need_nothing_at_deploy():
    """Every user and manual task has an entry; lane owners are applied at run time, not read here."""
    entries = _catalog("assignment/spiff_lane_owners.bpmn", "lane_owners_review").entries
    assert entries == {"Activity_ReviewItem": {"line": 30}, "Activity_FileItem": {"line": 38}}


def test_spiffarena_form_properties_load_the_schema_and_ui_schema_files():
    """formJsonSchemaFilename / formUiSchemaFilename name files beside the model; both are loaded and used."""
    catalog = _catalog("forms/spiff_form.bpmn", "grant_application_spiff")
    form = catalog.entries["Activity_EnterDetails"]["form"]
    assert form["schema"] == json.loads((FORMS / "enter-details-schema.json").read_text())
    assert form["ui_schema"]["ui:order"] == ["family_card_number", "members", "monthly_income"]
    assert sorted(catalog.used_form_files) == ["enter-details-schema.json", "enter-details-uischema.json"]


def test_missing_spiffarena_form_file_names_element_and_line():
    """A formJsonSchemaFilename whose file was not deployed is an error at the property's line."""
    errors = _errors("forms/spiff_form.bpmn", "grant_application_spiff", form_files={})
    assert errors == [{
        "message": "The form file 'enter-details-schema.json' was not deployed with the model.",
        "line": 11, "element_id": "Activity_EnterDetails",
    }]


# ----------------------------------------------------------------------------------- forms


def test_camunda_form_data_becomes_a_draft_2020_12_json_schema():
    """formField types, labels, defaults, enum values and constraints map onto JSON Schema keywords."""
    form = _catalog("forms/camunda7_form.bpmn", "grant_application_c7").entries["assess_grant"]["form"]
    schema = form["schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["applicant_name", "amount"]
    assert schema["properties"] == {
        "applicant_name": {"type": "string", "title": "Applicant name", "minLength": 3, "maxLength": 80},
        "amount": {"type": "integer", "title": "Amount (IDR)", "default": 1000000, "minimum": 100000,
                   "maximum": 50000000},
        "approved": {"type": "boolean", "title": "Approve the grant", "default": False},
        "decision_date": {"type": "string", "format": "date", "title": "Decision date"},
        "category": {"type": "string", "title": "Category", "oneOf": [
            {"const": "education", "title": "Education"}, {"const": "health", "title": "Health"}]},
        "reference": {"type": "string", "title": "Reference", "readOnly": True},
    }
    assert form["ui_schema"] == {"ui:order": list(schema["properties"])}
    assert form["source"] == "camunda:formData"


def test_form_file_named_after_the_task_is_used_with_its_ui_schema():
    """forms/<element id>.json (and .uischema.json) become the task's form."""
    catalog = _catalog("forms/file_form.bpmn", "identity_check")
    form = catalog.entries["verify_identity"]["form"]
    assert form["schema"]["required"] == ["nik", "photo_matches"]
    assert form["ui_schema"] == {"photo_matches": {"ui:widget": "radio"}}
    assert form["source"] == "forms/verify_identity.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b'["a list"]', "must be a JSON object"),
        (b'{"type": "objekt"}', "is not a valid JSON Schema"),
        (b'{"properties": {"a": {"minLength": -1}}}', "is not a valid JSON Schema (at properties/a/minLength)"),
        (b'{"properties": {"a": {"$ref": "https://example.org/a.json"}}}', "only '#/...' references"),
        (b'{"properties": {"a": {"$ref": "#/$defs/missing"}}}', "points at nothing"),
    ],
)
def test_form_file_that_is_not_a_json_schema_is_refused(content, message):
    """A form file that is not JSON, not an object, not a valid schema, or refers outside itself is an error."""
    with pytest.raises(DefinitionInvalidError) as raised:
        _minimal_catalog('<bpmn:userTask id="task" />', {"task.json": content})
    [error] = raised.value.errors
    assert message in error["message"] and error["element_id"] == "task" and error["line"] == 8


def test_spiff_property_wins_over_a_form_file_which_wins_over_form_data():
    """With several form sources, the named SpiffArena file is used, then forms/<id>.json, then formData."""
    schema = b'{"type": "object", "title": "%s"}'
    task = """<bpmn:userTask id="task"><bpmn:extensionElements>
        <spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="named.json" />
        </spiffworkflow:properties>
        <camunda:formData><camunda:formField id="a" type="string" /></camunda:formData>
      </bpmn:extensionElements></bpmn:userTask>"""
    files = {"named.json": schema % b"named", "task.json": schema % b"own"}
    assert _minimal_catalog(task, files).entries["task"]["form"]["schema"]["title"] == "named"
    without_property = task.replace('name="formJsonSchemaFilename"', 'name="somethingElse"')
    assert _minimal_catalog(without_property, files).entries["task"]["form"]["schema"]["title"] == "own"
    assert _minimal_catalog(without_property, {}).entries["task"]["form"]["source"] == "camunda:formData"


def test_unknown_form_field_type_is_an_error():
    """A Camunda form field type with no JSON Schema counterpart is refused with the field's line."""
    task = """<bpmn:userTask id="task"><bpmn:extensionElements><camunda:formData>
        <camunda:formField id="photo" type="file" /></camunda:formData></bpmn:extensionElements></bpmn:userTask>"""
    with pytest.raises(DefinitionInvalidError) as raised:
        _minimal_catalog(task)
    assert raised.value.errors[0]["message"].startswith("Form field 'photo' has type 'file'")
    assert raised.value.errors[0]["line"] == 9


# ----------------------------------------------------------------------------------- expressions


def test_untranslatable_expressions_are_errors_with_element_and_line():
    """Method calls in JUEL are refused at deploy, each error naming the element and its line."""
    errors = _errors("assignment/untranslatable.bpmn", "untranslatable_assignment")
    assert [(error["element_id"], error["line"]) for error in errors] == [("pick_reviewer", 8), ("schedule_visit", 13)]
    assert "reviewers.get(...)" in errors[0]["message"] and "camunda:assignee" in errors[0]["message"]
    assert "camunda:dueDate" in errors[1]["message"]


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ('<bpmn:userTask id="task" camunda:dueDate="next tuesday" />', "neither an ISO 8601 date-time nor a duration"),
        ('<bpmn:userTask id="task" camunda:priority="high" />', "is not a whole number"),
        ('<bpmn:userTask id="task"><bpmn:extensionElements><zeebe:taskSchedule dueDate="=now() + '
         'duration(&#34;P3D&#34;)" /></bpmn:extensionElements></bpmn:userTask>', "calling functions"),
        ('<bpmn:userTask id="task"><bpmn:extensionElements><zeebe:assignmentDefinition '
         'candidateGroups="=groups[1]" /></bpmn:extensionElements></bpmn:userTask>', "FEEL filters and indexes"),
    ],
)
def test_unusable_literals_and_feel_are_errors(task, message):
    """Literal dates must be ISO 8601, priorities whole numbers; FEEL beyond the subset is refused."""
    with pytest.raises(DefinitionInvalidError) as raised:
        _minimal_catalog(task)
    assert message in raised.value.errors[0]["message"] and raised.value.errors[0]["element_id"] == "task"


@pytest.mark.parametrize(
    ("source", "translated"),
    [
        ("applicant_user", "applicant_user"),
        ('["a", "b"]', "['a', 'b']"),
        ("case.owner.name", "case['owner']['name']"),
        ('status = "open" and not(urgent)', "((status == 'open') and (not urgent))"),
        ("amount >= 1000 or vip = true", "((amount >= 1000) or (vip == True))"),
        ("null", "None"),
        ("-2.5", "-2.5"),
    ],
)
def test_feel_subset_is_translated(source, translated):
    """FEEL paths, literals, lists, comparisons, and/or/not() and constants become sandbox expressions."""
    assert feel(source) == translated


@pytest.mark.parametrize(
    ("source", "translated"),
    [
        ("${initiator}", "initiator"),
        ("#{loan['amount'] gt 1000 && !loan.flagged}", "((loan['amount'] > 1000) and (not loan['flagged']))"),
        ("${items[0] eq 'x' || false}", "((items[0] == 'x') or False)"),
        ("${region}-clerks", "str(region) + '-clerks'"),
        ("clerks", None),
        ("${amount * 2 + fee div 4 - -1}", "(((amount * 2) + (fee / 4)) - -1)"),
        ("${not empty list && a mod 2 == 0}", "((not (list in (None, '', [], {}))) and ((a % 2) == 0))"),
        ("${urgent ? 3 : 10}", "(3 if urgent else 10)"),
    ],
)
def test_juel_subset_is_translated(source, translated):
    """JUEL paths, operators (logic, comparison, arithmetic, empty, ?:), constants and text around ${}."""
    assert camunda_value(source) == translated


@pytest.mark.parametrize(
    "source",
    ["${a.size()}", "${execution.getVariable('a')}", "${a instanceof b}", "${_secret}", "${}", "${unclosed",
     "${a == b == c}", "${a ? b}"],
)
def test_juel_outside_the_subset_is_untranslatable(source):
    """Calls, instanceof, private names, chains and unfinished expressions are refused, not guessed."""
    with pytest.raises(UntranslatableExpression):
        camunda_value(source)


def test_camunda_lists_split_on_commas_outside_expressions():
    """'a, ${f(x, y)}, b' has three items: a comma inside ${} does not split."""
    assert split_camunda_list("a, ${f(x, y)}, b ,, ") == ["a", "${f(x, y)}", "b"]


def test_called_process_in_the_same_file_gets_entries():
    """Tasks of a process reached by a call activity in the same file are in the catalog too."""
    content = MINIMAL.replace("{task}", '<bpmn:callActivity id="task" calledElement="inner" />').replace(
        "</bpmn:definitions>",
        """<bpmn:process id="inner"><bpmn:startEvent id="s" />
        <bpmn:sequenceFlow id="g1" sourceRef="s" targetRef="t" />
        <bpmn:userTask id="t" camunda:candidateGroups="Verifier" />
        <bpmn:sequenceFlow id="g2" sourceRef="t" targetRef="e" /><bpmn:endEvent id="e" /></bpmn:process>
        </bpmn:definitions>""",
    )
    entries = element_catalog(parse_xml(content.encode()), "p", {}).entries
    assert entries == {"t": {"line": 14, "candidate_groups": [_literal("Verifier")]}}


# ----------------------------------------------------------------------------------- deploying folders


@pytest.mark.django_db
def test_deploy_folder_deploys_each_model_with_its_forms_and_form_changes_make_a_new_version(tmp_path):
    """deploy_folder passes the folder's JSON files; the catalog is stored; a changed form is a new version."""
    deployed, unchanged, rejected = deploy_folder(FORMS, actor=None, agency=_agency())
    assert (sorted(deployed), unchanged, rejected) == (["camunda7_form.bpmn", "file_form.bpmn", "spiff_form.bpmn"],
                                                        [], [])
    identity = ProcessDefinition.objects.get(key="identity_check")
    assert identity.element_catalog["verify_identity"]["form"]["source"] == "forms/verify_identity.json"
    copy = tmp_path / "identity"
    (copy / "forms").mkdir(parents=True)
    (copy / "file_form.bpmn").write_bytes((FORMS / "file_form.bpmn").read_bytes())
    (copy / "forms" / "verify_identity.json").write_bytes(b'{"type": "object", "required": ["nik"]}')
    assert deploy_folder(copy, actor=None, agency=_agency())[0] == ["file_form.bpmn"]
    newest = ProcessDefinition.objects.filter(key="identity_check").order_by("-version").first()
    assert newest.version == 2 and newest.element_catalog["verify_identity"]["form"]["schema"]["required"] == ["nik"]


@pytest.mark.django_db
def test_bundled_library_deploys_its_forms():
    """processes/library/<folder>/forms/ reaches the catalog: the permit's completeness check has its form."""
    assert deploy_folder(LIBRARY_DIR, actor=None, agency=_agency())[2] == []
    permit = ProcessDefinition.objects.get(key="permit_application")
    assert permit.element_catalog["check_completeness"]["form"]["schema"]["required"] == ["documents_complete"]


def _agency():
    from engine.agencies import default_agency

    return default_agency()
