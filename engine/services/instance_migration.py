"""Moving running instances from one version of a process to another.

``instances_migrate`` checks each instance and, unless it is a dry run, moves those that can go, each
in its own transaction under its row lock: the task tree is converted with SpiffWorkflow's migration
(``engine.spiff.migration``), the instance points at the new version, the projections (inbox rows
and their offers, timers, message subscriptions) are re-synced by ``save_step``, and an
``instance_migrated`` event records who moved it, from which version to which, and what changed for
it. Instances that cannot move are left untouched and reported with the reason.

Who may migrate: the process analysts of the definition's agency (and superusers, and management
commands, which run with no actor). Supervisors may not: moving an application to another version
of its procedure is a change of the procedure, which is the analysts' work.
"""

import logging
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.utils import timezone

from engine import history
from engine.agencies import require_analyst_of
from engine.exceptions import MigrationInvalidError
from engine.models import (
    OPEN_TASK_STATUSES,
    HumanTask,
    HumanTaskCandidateGroup,
    HumanTaskCandidateUser,
    HumanTaskStatus,
    InstanceStatus,
    ProcessInstance,
    Timer,
    TimerStatus,
)
from engine.spiff import ProcessRuntime, StepResult, plan_migration
from processes.definition_diff import catalog_entry_of, service_level_of

from .service_levels import cancel_task_deadlines, schedule_task_deadline
from .steps import locked_instance, parsed_process_of, save_step
from .task_setup import task_offer, task_setup

logger = logging.getLogger(__name__)
# The catalog keys that decide who is offered a task and when it is due (the form is read when shown).
_OFFER_KEYS = ("assignee", "candidate_users", "candidate_groups", "due_date", "follow_up_date", "priority")


@dataclass
class InstanceVerdict:
    """One instance's answer: can it move, why not, where it stands, and (after a real run) whether it moved."""

    instance_id: int
    tracking_code: str = ""
    can_move: bool = False
    reasons: list = field(default_factory=list)
    position: list = field(default_factory=list)
    migrated: bool = False

    @property
    def reason(self):
        return "; ".join(self.reasons) if self.reasons else None

    def as_dict(self):
        body = asdict(self)
        body["reason"] = self.reason
        return body


def require_migrator(actor, definition):
    """Analysts of the definition's agency may migrate its instances; superusers and commands (None) any."""
    require_analyst_of(actor, definition.agency_id, doing="migrate instances")


def _require_compatible(source, target):
    if source.pk == target.pk:
        raise MigrationInvalidError(f"The instances are already on {_label(target)}; name another version.")
    if source.key != target.key:
        raise MigrationInvalidError(
            f"Definition {target.pk} is process '{target.key}', not '{source.key}' (different process key); "
            "instances move only between versions of one process."
        )
    if source.agency_id != target.agency_id:
        raise MigrationInvalidError("The two versions belong to different agencies.")


def _label(definition):
    return f"version {definition.version}"


def _instance_ids(source, instance_ids):
    if instance_ids is None:
        running = ProcessInstance.objects.filter(definition=source, status=InstanceStatus.RUNNING)
        return list(running.order_by("pk").values_list("pk", flat=True))
    return sorted(dict.fromkeys(int(instance_id) for instance_id in instance_ids))


def instances_migrate(*, source, target, actor, instance_ids=None, dry_run=True):
    """Check (``dry_run``) or move the instances of ``source`` to ``target``; one ``InstanceVerdict`` each.

    ``instance_ids`` defaults to all running instances of ``source``. A real run moves each instance in
    its own transaction, so one that fails or cannot move does not hold back the others.
    """
    require_migrator(actor, source)
    _require_compatible(source, target)
    verdicts = []
    for instance_id in _instance_ids(source, instance_ids):
        if dry_run:
            verdicts.append(_verdict(_instance_or_none(instance_id), instance_id, source, target)[0])
        else:
            verdicts.append(_migrate_one_or_report(instance_id, source, target, actor))
    return verdicts


def _migrate_one_or_report(instance_id, source, target, actor):
    """Move one instance; if writing it fails, its transaction is rolled back and the failure reported."""
    try:
        return _migrate_one(instance_id, source, target, actor)
    except Exception as error:  # noqa: BLE001 - one instance's failure must not stop the others
        logger.exception("Migrating instance %s to definition %s failed", instance_id, target.pk)
        return InstanceVerdict(instance_id=instance_id, reasons=[f"moving it failed and was undone: {error}"])


def _instance_or_none(instance_id):
    return ProcessInstance.objects.select_related("definition").filter(pk=instance_id).first()


def _verdict(instance, instance_id, source, target):
    """(verdict, plan) for one instance as it is now; the plan is None when it is not even tried."""
    verdict = InstanceVerdict(instance_id=instance_id)
    if instance is None or instance.process_key != source.key:
        verdict.reasons.append(f"it is not an instance of '{source.key}' (different process key)")
        return verdict, None
    verdict.tracking_code = instance.tracking_code
    if instance.definition_id != source.pk:
        verdict.reasons.append(f"it runs {_label(instance.definition)}, not {_label(source)}")
        return verdict, None
    if instance.status != InstanceStatus.RUNNING:
        verdict.reasons.append(f"the instance is {instance.get_status_display().lower()}")
        return verdict, None
    plan = plan_migration(
        parsed_process_of(source), parsed_process_of(target), instance.state, target_label=_label(target)
    )
    verdict.position = [
        {"element_id": element.element_id, "name": element.name, "state": element.state,
         "target_element_id": element.target_element_id,
         "changes": sorted([*element.changes, *_model_changes(source, target, element)])}
        for element in plan.running
    ]
    verdict.reasons.extend(plan.blockers)
    verdict.can_move = plan.can_move
    return verdict, plan


def _model_changes(source, target, element):
    """What the definitions (not the SpiffWorkflow spec) change about a waiting element: catalog, service level."""
    if element.target_element_id is None:
        return []
    changes = []
    before = catalog_entry_of(source.element_catalog or {}, element.element_id)
    if before != catalog_entry_of(target.element_catalog or {}, element.target_element_id):
        changes.append("catalog")
    before = service_level_of(source.service_levels or {}, element.element_id)
    if before != service_level_of(target.service_levels or {}, element.target_element_id):
        changes.append("service_level")
    return changes


def _migrate_one(instance_id, source, target, actor):
    with transaction.atomic():
        instance = _locked_or_none(instance_id)
        verdict, plan = _verdict(instance, instance_id, source, target)
        if not verdict.can_move:
            return verdict
        instance.definition = target
        # The instance's pending timers belong to the version it runs now (their history events name it).
        Timer.objects.filter(instance=instance, status=TimerStatus.PENDING).update(definition=target)
        runtime = ProcessRuntime.restore(parsed_process_of(target), plan.state)
        task_changes = _refresh_open_tasks(instance, runtime, source, target)
        history.record_instance_migrated(instance, actor=actor, source=source, target=target, changes={
            "position": verdict.position,
            "tasks": task_changes,
            "dropped_finished_elements": plan.dropped_finished,
        })
        save_step(instance, runtime, StepResult([], None), actor=actor)
        verdict.migrated = True
    return verdict


def _locked_or_none(instance_id):
    try:
        return locked_instance(instance_id)
    except ProcessInstance.DoesNotExist:
        return None


def _catalog_entry(definition, element_id):
    return dict((definition.element_catalog or {}).get(element_id) or {})


def _offer_entry(definition, element_id):
    entry = _catalog_entry(definition, element_id)
    return {key: entry[key] for key in _OFFER_KEYS if key in entry}


def _refresh_open_tasks(instance, runtime, source, target):
    """Bring the open inbox rows in line with their elements in the target; what changed, per task.

    A row keeps its id, claim and due date. Its name, element id, lane and documentation follow the
    target; when the lane or the catalog entry (assignment, dates, priority) changed, the task is
    offered afresh as a new task of the target would be. Rows whose task the move dropped are closed
    by ``save_step`` like any task the process moved on without.
    """
    ready = {task.task_id: task for task in runtime.ready_human_tasks()}
    changes = []
    for task in HumanTask.objects.filter(instance=instance, status__in=OPEN_TASK_STATUSES).order_by("pk"):
        current = ready.get(task.spiff_task_id)
        if current is None:
            continue
        before = {"element_id": task.element_id, "name": task.name, "lane": task.lane,
                  "documentation": task.documentation}
        after = {"element_id": current.element_id, "name": current.name, "lane": current.lane or "",
                 "documentation": current.documentation or ""}
        changed = {key: {"from": before[key], "to": after[key]} for key in before if before[key] != after[key]}
        reoffer = "lane" in changed or (
            _offer_entry(source, task.element_id) != _offer_entry(target, current.element_id)
        )
        for key, value in after.items():
            setattr(task, key, value)
        task.save(update_fields=list(after))
        if reoffer:
            _offer_again(task, instance, runtime, _catalog_entry(target, current.element_id))
            changed["offered_again"] = True
        if changed:
            changes.append({"task": task.pk, **changed})
    return changes


def _offer_again(task, instance, runtime, entry):
    """Replace the task's candidates (and priority, dates) with what the target's model gives it."""
    setup = task_setup(
        instance=instance, entry=entry, lane=task.lane, data=runtime.task_data(task.spiff_task_id),
        created_at=task.created_at,
    )
    HumanTaskCandidateGroup.objects.filter(humantask=task).delete()
    HumanTaskCandidateUser.objects.filter(humantask=task).delete()
    task_offer(task, setup)
    task.priority = setup.priority
    due_before, task.due_at = task.due_at, setup.due_at or task.due_at
    task.follow_up_at = setup.follow_up_at
    fields = ["priority", "due_at", "follow_up_at"]
    if task.status == HumanTaskStatus.READY and setup.assignee is not None:
        task.assignee, task.status, task.claimed_at = setup.assignee, HumanTaskStatus.CLAIMED, timezone.now()
        fields += ["assignee", "status", "claimed_at"]
    task.save(update_fields=fields)
    if task.due_at != due_before:  # the deadline watches the new due date
        task.instance = instance
        cancel_task_deadlines(task, reason="The new version gives the task another due date.")
        schedule_task_deadline(task)
