"""processes.step_texts: English names, lane names and documents read from the model, in every dialect."""

from processes.bpmn_xml import parse_xml
from processes.step_texts import documents_of, lane_texts, process_texts, read_step_texts, stage_texts

MODEL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="layanan" name="Layanan" isExecutable="true">
    <bpmn:extensionElements><zeebe:properties><zeebe:property name="nameEn" value="Service" /></zeebe:properties>
    </bpmn:extensionElements>
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="other/Verifikator">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="name_id" value="Verifikator Dinas Lain" />
          <spiffworkflow:property name="name_en" value="Verifier of the other office" />
        </spiffworkflow:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>periksa</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="l2" name="Pemohon"><bpmn:flowNodeRef>unggah</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="mulai" />
    <bpmn:userTask id="periksa" name="Periksa">
      <bpmn:documentation>Dasar hukum: UU 25/2009.</bpmn:documentation>
      <bpmn:extensionElements><zeebe:properties>
        <zeebe:property name="name_en" value="Check" />
        <zeebe:property name="documents" value="KTP-el | e-KTP; Surat kuasa ;" />
      </zeebe:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="unggah" name="Unggah" />
    <bpmn:endEvent id="selesai" />
    <bpmn:sequenceFlow id="f1" sourceRef="mulai" targetRef="periksa" />
    <bpmn:sequenceFlow id="f2" sourceRef="periksa" targetRef="unggah" />
    <bpmn:sequenceFlow id="f3" sourceRef="unggah" targetRef="selesai" />
  </bpmn:process>
</bpmn:definitions>"""


def test_names_notes_and_documents_are_read_from_zeebe_and_spiff_properties():
    """English names from name_en/nameEn, a lane's shown name from name_id, documents split on ';' and '|'."""
    texts = read_step_texts(parse_xml(MODEL), "layanan")
    assert process_texts(texts, "Layanan") == {"id": "Layanan", "en": "Service"}
    assert stage_texts(texts, "periksa", "Periksa") == {"id": "Periksa", "en": "Check"}
    assert texts["elements"]["periksa"]["note"] == "Dasar hukum: UU 25/2009."
    assert documents_of(texts, "periksa") == [
        {"id": "KTP-el", "en": "e-KTP"}, {"id": "Surat kuasa", "en": "Surat kuasa"}]
    assert lane_texts(texts, "other/Verifikator") == {
        "id": "Verifikator Dinas Lain", "en": "Verifier of the other office"}


def test_without_translations_the_names_stand_for_both_languages():
    """A step, lane or process the model gives no English name keeps its own name in both; no lane gives None."""
    texts = read_step_texts(parse_xml(MODEL), "layanan")
    assert stage_texts(texts, "unggah", "Unggah") == {"id": "Unggah", "en": "Unggah"}
    assert lane_texts(texts, "Pemohon") == {"id": "Pemohon", "en": "Pemohon"}
    assert lane_texts(texts, None) is None
    assert documents_of(texts, "unggah") == []
    assert stage_texts({}, "x", "Nama") == {"id": "Nama", "en": "Nama"}
