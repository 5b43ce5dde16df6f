"""Moving a stored task tree from one version of a process to another, with SpiffWorkflow's diff support.

``SpecDiff`` aligns the two specs (by element id, then by position for elements whose id changed),
``diff_workflow`` says which tasks of the instance sit on removed or changed specs, and
``migrate_workflow`` points the tasks at the new specs and re-predicts the branches below READY and
WAITING tasks. Around that, this module decides whether the move is safe and keeps what SpiffWorkflow
would otherwise lose:

- an instance cannot move when a task that is running (ready, waiting or started) sits on an element
  the target removes, or on one whose type changed, or inside a subprocess the target no longer has;
- finished tasks whose element the target removed are taken out of the tree, their children hung on
  their parent (the stored state has no spec of its own, so a task without an element in the target
  could not be restored; what happened stays in the instance's history events);
- a waiting timer or message event whose definition did not change keeps its internal state, so a
  deadline that was 3 days away is still 3 days away, not restarted;
- the last completed task (where the process variables are read) stays the last completed task;
- the result is dumped and restored onto the target spec before it is offered, so a plan that says
  "can move" is a state that loads.

Nothing here touches the database: ``plan_migration`` takes and returns plain values.
"""

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .serializer import _REGISTRY, dump_state, load_state

_RUNNING = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# Attributes of a running task's spec that matter to the one who works it, by the names the API uses.
_SHOWN_CHANGES = {
    "bpmn_name": "name", "lane": "lane", "documentation": "documentation", "event_definition": "event_definition",
    "extensions": "extensions", "script": "script", "outputs": "outgoing",
}


@dataclass(frozen=True)
class RunningElement:
    """Where the instance stands: a ready, waiting or started element, and what the target changes about it."""

    element_id: str
    name: str
    state: str
    target_element_id: str | None = None
    changes: tuple = ()


@dataclass
class MigrationPlan:
    """Whether an instance's tree can move to the target spec; when it can, the moved state."""

    blockers: list = field(default_factory=list)  # why it cannot move, in words
    running: list = field(default_factory=list)  # RunningElement
    dropped_finished: list = field(default_factory=list)  # element ids of finished tasks taken out of the tree
    state: dict | None = None

    @property
    def can_move(self):
        return not self.blockers and self.state is not None


@dataclass(frozen=True)
class SpecAlignment:
    """Elements SpiffWorkflow matches by position although their id changed (old id -> new id)."""

    continues_as: dict


def spec_alignment(source, target):
    """How SpiffWorkflow aligns the elements of two versions (``ParsedProcess`` each), subprocesses included."""
    pairs = [(source.spec, target.spec)] + [
        (spec, target.subprocess_specs[name]) for name, spec in source.subprocess_specs.items()
        if spec is not None and target.subprocess_specs.get(name) is not None
    ]
    continues_as = {}
    for old_spec, new_spec in pairs:
        diff = SpecDiff(_REGISTRY, old_spec, new_spec)
        continues_as.update({
            old.name: new.name for old, new in diff.alignment.items()
            if new is not None and old.name != new.name and old.bpmn_id and new.bpmn_id
        })
    return SpecAlignment(continues_as)


def plan_migration(source, target, state, *, target_label):
    """Try the move of one instance's ``state`` from ``source`` to ``target`` (``ParsedProcess`` each).

    ``target_label`` names the target in the reasons ("version 3"). Returns a ``MigrationPlan``; the
    stored state is not changed (the move happens on a restored copy).
    """
    plan = MigrationPlan()
    try:
        workflow = load_state(state, source.spec, source.subprocess_specs)
    except Exception as error:  # noqa: BLE001 - a state that does not load cannot be moved
        plan.blockers.append(f"its stored state does not load on its own version: {error}")
        return plan
    try:
        top_diff, sub_diffs = diff_workflow(_REGISTRY, workflow, target.spec, target.subprocess_specs)
    except Exception as error:  # noqa: BLE001 - SpiffWorkflow could not align the two versions
        plan.blockers.append(f"SpiffWorkflow cannot align its tasks with {target_label}: {error!r}")
        return plan
    _check_running(workflow, top_diff, plan, target_label)
    for subprocess_id, sub_diff in sub_diffs.items():
        subworkflow = workflow.subprocesses[subprocess_id]
        if sub_diff is None:
            plan.blockers.append(
                f"it is inside the subprocess '{subworkflow.spec.name}', which {target_label} no longer has"
            )
            continue
        _check_running(subworkflow, sub_diff, plan, target_label)
    if plan.blockers:
        return plan
    kept = _waiting_internal_data(workflow, top_diff, target)
    last_task_id = workflow.last_task.id if workflow.last_task is not None else None
    try:
        migrate_workflow(top_diff, workflow, target.spec)
        # migrate_workflow tests ``last_task`` (a Task) against the task ids and so always clears it; the
        # process variables are read from it, so it is put back when its task is still in the tree.
        workflow.last_task = workflow.tasks.get(last_task_id) if last_task_id is not None else None
        for subprocess_id, sub_diff in sub_diffs.items():
            subworkflow = workflow.subprocesses[subprocess_id]
            migrate_workflow(sub_diff, subworkflow, target.subprocess_specs[subworkflow.spec.name])
        workflow.subprocess_specs = target.subprocess_specs
        _restore_internal_data(workflow, kept)
        plan.dropped_finished = _drop_finished_without_spec(workflow, target)
        _check_all_on_target(workflow, target, plan, target_label)
        if plan.blockers:
            return plan
        moved = dump_state(workflow)
        load_state(moved, target.spec, target.subprocess_specs)  # the moved state must load on the target
    except Exception as error:  # noqa: BLE001 - any failure leaves the instance where it is
        plan.blockers.append(f"SpiffWorkflow could not move its tasks to {target_label}: {error!r}")
        return plan
    plan.state = moved
    return plan


def _check_running(workflow, diff, plan, target_label):
    removed = set(diff.removed)
    changed = set(diff.changed)
    for task in workflow.get_tasks(state=_RUNNING, skip_subprocesses=True):
        spec = task.task_spec
        if not spec.bpmn_id:
            continue  # the engine's own joins and splits (boundary event parents) follow their elements
        name = spec.bpmn_name or spec.bpmn_id
        state = TaskState.get_name(task.state).lower()
        if task in removed:
            plan.blockers.append(f"{_verb(state)} '{name}' ({spec.bpmn_id}) which {target_label} removes")
            continue
        new_spec = diff.alignment.get(task)
        changes = ()
        if task in changed:
            changes = tuple(_changed_attributes(spec, new_spec))
            if "typename" in changes or type(spec) is not type(new_spec):
                plan.blockers.append(
                    f"a running task changed type: '{name}' ({spec.bpmn_id}) is a {spec.description} here "
                    f"and a {new_spec.description} in {target_label}"
                )
                continue
        plan.running.append(RunningElement(
            element_id=spec.bpmn_id,
            name=name,
            state=state,
            target_element_id=new_spec.bpmn_id if new_spec is not None else None,
            changes=tuple(sorted(_SHOWN_CHANGES[change] for change in changes if change in _SHOWN_CHANGES)),
        ))


def _verb(state):
    return {"ready": "waiting at task", "waiting": "waiting at event", "started": "running"}.get(state, state)


def _changed_attributes(spec, new_spec):
    before = _REGISTRY.convert(spec)
    after = _REGISTRY.convert(new_spec)
    if before.get("typename") != after.get("typename"):
        return ["typename"]
    return [key for key, value in before.items() if after.get(key) != value and key != "name"]


def _waiting_internal_data(workflow, diff, target):
    """Internal data (timer moments, message state) of waiting tasks whose event definition stays the same."""
    kept = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if task.workflow is workflow:
            new_spec = diff.alignment.get(task)
        else:
            sub_spec = target.subprocess_specs.get(task.workflow.spec.name)
            new_spec = sub_spec.task_specs.get(task.task_spec.name) if sub_spec is not None else None
        if new_spec is None or not task.internal_data:
            continue
        before = _REGISTRY.convert(task.task_spec).get("event_definition")
        after = _REGISTRY.convert(new_spec).get("event_definition")
        if before == after:
            kept[task.id] = (new_spec.name, dict(task.internal_data))
    return kept


def _restore_internal_data(workflow, kept):
    for task in workflow.get_tasks(state=TaskState.WAITING):
        entry = kept.get(task.id)
        if entry is not None and entry[0] == task.task_spec.name:
            task.internal_data = dict(entry[1])


def _drop_finished_without_spec(workflow, target):
    """Take finished tasks whose element the target removed out of the tree; their children move up."""
    dropped = []
    for owner, specs in _workflows_with_specs(workflow, target):
        for task in list(owner.tasks.values()):
            if task.task_spec is specs.get(task.task_spec.name) or not task.has_state(TaskState.FINISHED_MASK):
                continue
            parent = task.parent
            if parent is None:
                continue
            position = parent._children.index(task.id)
            parent._children[position:position + 1] = list(task._children)
            for child in task.children:
                child._parent = parent.id
            if owner.last_task is task:
                owner.last_task = parent
            del owner.tasks[task.id]
            dropped.append(task.task_spec.bpmn_id or task.task_spec.name)
    return dropped


def _check_all_on_target(workflow, target, plan, target_label):
    for owner, specs in _workflows_with_specs(workflow, target):
        for task in owner.tasks.values():
            if task.task_spec is not specs.get(task.task_spec.name):
                spec = task.task_spec
                plan.blockers.append(
                    f"its task '{spec.bpmn_name or spec.bpmn_id or spec.name}' "
                    f"({TaskState.get_name(task.state).lower()}) has no element in {target_label}"
                )


def _workflows_with_specs(workflow, target):
    """The workflow and its subworkflows, each with the task specs of its target spec."""
    yield workflow, target.spec.task_specs
    for subworkflow in workflow.subprocesses.values():
        spec = target.subprocess_specs.get(subworkflow.spec.name)
        yield subworkflow, spec.task_specs if spec is not None else {}
