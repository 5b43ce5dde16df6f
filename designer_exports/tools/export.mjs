// Serialises the bundled permit process (processes/library/permit_application/) in the dialects of
// several modeling tools, with the libraries those tools are built on: bpmn-moddle (bpmn.io, Camunda
// Modeler) and its Camunda 7 (camunda-bpmn-moddle) and Camunda 8 (zeebe-bpmn-moddle) descriptors.
// The diagram (BPMN DI) is laid out by bpmn-auto-layout, since the bundled file has none.
//
//   cd designer_exports/tools && npm ci && node export.mjs
//
// Each file is the same process: same elements and ids, lanes, timer and scripts; only the process id
// (so that importing all of them does not make versions of one another), the assignment, the form and
// the expression language of the condition differ, as each tool writes them.

import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BpmnModdle } from 'bpmn-moddle';
import { layoutProcess } from 'bpmn-auto-layout';

const require = createRequire(import.meta.url);
const camundaDescriptor = require('camunda-bpmn-moddle/resources/camunda.json');
const zeebeDescriptor = require('zeebe-bpmn-moddle/resources/zeebe.json');
const HERE = dirname(fileURLToPath(import.meta.url));
const versions = {};
for (const name of ['bpmn-moddle', 'camunda-bpmn-moddle', 'zeebe-bpmn-moddle', 'bpmn-auto-layout']) {
  const manifest = await readFile(join(HERE, 'node_modules', name, 'package.json'), 'utf8');
  versions[name] = JSON.parse(manifest).version;
}
const EXPORTS = join(HERE, '..');
const LIBRARY = join(HERE, '..', '..', 'processes', 'library', 'permit_application');
const SPIFF_NS = 'http://spiffworkflow.org/bpmn/schema/1.0/core';
const MODELER_NS = 'http://camunda.org/schema/modeler/1.0';

// The lane each human task sits in is the group that works it (as in the bundled process).
const GROUP_OF_TASK = {
  check_completeness: 'Front Office',
  technical_review: 'Verifier',
  legal_review: 'Verifier',
  approve_permit: 'Head of Office',
};
// The condition of flow_incomplete ("documents are not complete") in each tool's language.
const INCOMPLETE = {
  camunda7: '${documents_complete == false}',
  camunda8: '=documents_complete = false',
  spiffarena: 'documents_complete == False',
  bpmn20: 'documents_complete == false',
};
// What the two script tasks compute, for Camunda 8 (FEEL expression and result variable).
const ZEEBE_SCRIPTS = {
  record_reminder: { expression: '=1', resultVariable: 'reminders_sent' },
  issue_permit: { expression: '=true', resultVariable: 'permit_issued' },
};

async function load(descriptors) {
  const moddle = new BpmnModdle(descriptors);
  const source = await readFile(join(LIBRARY, 'permit_application.bpmn'), 'utf8');
  const { rootElement: definitions } = await moddle.fromXML(await layoutProcess(source));
  const process = definitions.rootElements.find((element) => element.$type === 'bpmn:Process');
  const byId = Object.fromEntries(process.flowElements.map((element) => [element.id, element]));
  return { moddle, definitions, process, byId };
}

function rename(model, dialect, label) {
  model.process.id = `permit_application_${dialect}`;
  model.process.name = `Permit application (Permohonan izin), ${label}`;
  model.definitions.id = `permit_application_${dialect}_definitions`;
  model.definitions.exporter = 'bureau-engine designer_exports/tools/export.mjs';
  model.definitions.exporterVersion = `bpmn-moddle ${versions['bpmn-moddle']}`;
}

function setCondition(model, text) {
  model.byId.flow_incomplete.conditionExpression = model.moddle.create('bpmn:FormalExpression', { body: text });
}

function extensions(model, element) {
  if (!element.extensionElements) {
    element.extensionElements = model.moddle.create('bpmn:ExtensionElements', { values: [] });
  }
  return element.extensionElements.values;
}

function camunda7(model) {
  const { moddle, byId } = model;
  rename(model, 'camunda7', 'Camunda 7 dialect');
  for (const [taskId, group] of Object.entries(GROUP_OF_TASK)) {
    byId[taskId].candidateGroups = group;
  }
  const required = moddle.create('camunda:Validation', {
    constraints: [moddle.create('camunda:Constraint', { name: 'required' })],
  });
  const longest = moddle.create('camunda:Validation', {
    constraints: [moddle.create('camunda:Constraint', { name: 'maxlength', config: '2000' })],
  });
  extensions(model, byId.check_completeness).push(moddle.create('camunda:FormData', {
    fields: [
      moddle.create('camunda:FormField', {
        id: 'documents_complete', label: 'All documents on the checklist are present and legible',
        type: 'boolean', validation: required,
      }),
      moddle.create('camunda:FormField', {
        id: 'missing_documents', label: 'What is missing (told to the applicant)', type: 'string',
        validation: longest,
      }),
    ],
  }));
  setCondition(model, INCOMPLETE.camunda7);
}

function camunda8(model) {
  const { moddle, byId, definitions } = model;
  rename(model, 'camunda8', 'Camunda 8 dialect');
  definitions.$attrs['xmlns:modeler'] = MODELER_NS;
  definitions.$attrs['modeler:executionPlatform'] = 'Camunda Cloud';
  definitions.$attrs['modeler:executionPlatformVersion'] = '8.6.0';
  for (const [taskId, group] of Object.entries(GROUP_OF_TASK)) {
    extensions(model, byId[taskId]).push(moddle.create('zeebe:AssignmentDefinition', { candidateGroups: group }));
  }
  for (const [taskId, script] of Object.entries(ZEEBE_SCRIPTS)) {
    const task = byId[taskId];
    delete task.script;
    delete task.scriptFormat;
    extensions(model, task).push(moddle.create('zeebe:Script', script));
  }
  setCondition(model, INCOMPLETE.camunda8);
}

function spiffarena(model) {
  const { moddle, byId, definitions } = model;
  rename(model, 'spiffarena', 'SpiffArena dialect');
  definitions.$attrs['xmlns:spiffworkflow'] = SPIFF_NS;
  const property = (name, value) => moddle.createAny('spiffworkflow:property', SPIFF_NS, { name, value });
  const properties = moddle.createAny('spiffworkflow:properties', SPIFF_NS, {
    $children: [property('formJsonSchemaFilename', 'check-completeness-schema.json')],
  });
  extensions(model, byId.check_completeness).push(properties);
  setCondition(model, INCOMPLETE.spiffarena);
}

function bpmn20(model) {
  rename(model, 'bpmn20', 'plain BPMN 2.0');
  setCondition(model, INCOMPLETE.bpmn20);
}

const DIALECTS = [
  { folder: 'camunda7', descriptors: { camunda: camundaDescriptor }, apply: camunda7, forms: false },
  { folder: 'camunda8', descriptors: { zeebe: zeebeDescriptor }, apply: camunda8, forms: true },
  { folder: 'spiffarena', descriptors: {}, apply: spiffarena, forms: false },
  { folder: 'bpmn20', descriptors: {}, apply: bpmn20, forms: true },
];

for (const dialect of DIALECTS) {
  const model = await load(dialect.descriptors);
  dialect.apply(model);
  const { xml } = await model.moddle.toXML(model.definitions, { format: true });
  const folder = join(EXPORTS, dialect.folder);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'permit_application.bpmn'), xml + '\n');
  await copyFile(join(LIBRARY, 'service_levels.json'), join(folder, 'service_levels.json'));
  if (dialect.forms) {
    await mkdir(join(folder, 'forms'), { recursive: true });
    await copyFile(join(LIBRARY, 'forms', 'check_completeness.json'), join(folder, 'forms', 'check_completeness.json'));
  }
  if (dialect.folder === 'spiffarena') {
    await copyFile(join(LIBRARY, 'forms', 'check_completeness.json'), join(folder, 'check-completeness-schema.json'));
  }
  console.log(`${dialect.folder}/permit_application.bpmn`);
}
console.log(JSON.stringify(versions));
