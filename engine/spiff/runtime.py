"""``ProcessRuntime``: one process instance's task tree, and the few things the engine asks of it."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from engine.exceptions import ProcessStepError, TaskNotReadyError

from .decisions import decision_summary
from .messages import catch_message, message_catchers, waiting_messages
from .script_engine import SCRIPT_ENGINE
from .serializer import dump_state, load_state
from .specs import timer_type_of
from .types import CompletedActivity, ReadyHumanTask, StepResult, WaitingTimer


class ProcessRuntime:
    """Wraps a SpiffWorkflow ``BpmnWorkflow``; every method either reads it or moves it on."""

    def __init__(self, workflow, message_keys=None, catches_messages=True):
        self._workflow = workflow
        self._message_keys = message_keys or {}
        self.catches_messages = catches_messages  # False: the process has nothing that waits for a message

    # --- construction ---

    @classmethod
    def new(cls, parsed_process, data):
        """A fresh workflow for the process with the start data; nothing has run yet."""
        workflow = BpmnWorkflow(parsed_process.spec, parsed_process.subprocess_specs, script_engine=SCRIPT_ENGINE)
        workflow.task_tree.data.update(data or {})
        for task in workflow.task_tree.children:
            task.data.update(data or {})
        return cls(workflow, parsed_process.message_keys, parsed_process.catches_messages)

    @classmethod
    def restore(cls, parsed_process, state):
        workflow = load_state(state, parsed_process.spec, parsed_process.subprocess_specs)
        return cls(workflow, parsed_process.message_keys, parsed_process.catches_messages)

    def dump(self):
        """The task tree and data as a JSON-ready dict (without the spec)."""
        return dump_state(self._workflow)

    # --- reading ---

    @property
    def is_completed(self):
        return self._workflow.completed

    @property
    def data(self):
        """The process variables: those of the last finished task, with the workflow's own on top."""
        last = self._workflow.last_task
        data = dict(last.data) if last is not None else dict(self._workflow.task_tree.data)
        data.update(self._workflow.data)
        data.pop("data_objects", None)
        return data

    def ready_human_tasks(self):
        return [
            ReadyHumanTask(
                task_id=task.id,
                element_id=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                element_type=_element_type(task.task_spec),
                lane=task.task_spec.lane,
                documentation=task.task_spec.documentation,
            )
            for task in self._workflow.get_tasks(state=TaskState.READY, manual=True)
        ]

    def blocked_elements(self):
        """(element id, element type, state) of the BPMN elements waiting or started and not finished."""
        mask = TaskState.WAITING | TaskState.STARTED
        return [
            (task.task_spec.bpmn_id, _element_type(task.task_spec), TaskState.get_name(task.state))
            for task in self._workflow.get_tasks(state=mask)
            if task.task_spec.bpmn_id
        ]

    def task_data(self, task_id):
        """A copy of the data a task of this workflow sees: the data of the branch that led to it."""
        return dict(self._workflow.get_task_from_id(UUID(str(task_id))).data)

    def waiting_timers(self):
        timers = []
        for task in self._workflow.get_tasks(state=TaskState.WAITING):
            spec = task.task_spec
            if not isinstance(spec, CatchingEvent):
                continue
            timer_type = timer_type_of(spec.event_definition)
            due_at = _due_at(task) if timer_type else None
            if due_at is None:
                continue
            timers.append(
                WaitingTimer(
                    task_id=task.id,
                    element_id=spec.bpmn_id,
                    kind=_timer_kind(spec),
                    timer_type=timer_type,
                    expression=spec.event_definition.expression,
                    due_at=due_at,
                )
            )
        return timers

    def timer_value(self, task_id):
        """A waiting timer's expression evaluated on its task's data (an ISO 8601 text)."""
        task = self._workflow.get_task_from_id(UUID(str(task_id)))
        return SCRIPT_ENGINE.environment.evaluate(task.task_spec.event_definition.expression, task.data)

    def reschedule_timer(self, task_id, due_at):
        """Make a waiting date or duration timer come due at ``due_at`` (a working-time deadline).

        Only the moment changes; the sweeper still decides when it fires (``fire_timer``).
        """
        task = self._workflow.get_task_from_id(UUID(str(task_id)))
        if task is None or task.state != TaskState.WAITING:
            return False
        if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            return False
        task._set_internal_data(event_value=due_at.astimezone(UTC).isoformat())
        return True

    def waiting_messages(self):
        """The message catch events, receive tasks, boundary events and gateway branches waiting now."""
        return waiting_messages(self._workflow, self._message_keys)

    # --- moving on ---

    def start(self, timer_start_element_id=None):
        """Run the start of the process.

        A timer start event passes at once when it is the one that started the instance
        (``timer_start_element_id``). When the process has no plain (none) start event, its start
        events (timer, message, signal, conditional...) pass at once: starting the instance is what
        they wait for, and no message or signal can reach an instance that has not started.
        """
        finished = []

        def run():
            self._run_engine(finished)
            waiting_starts = [
                task for task in self._workflow.get_tasks(state=TaskState.WAITING)
                if isinstance(task.task_spec, StartEvent) and task.workflow is self._workflow
            ]
            chosen = [task for task in waiting_starts if task.task_spec.bpmn_id == timer_start_element_id]
            if not chosen and not self._has_none_start_event():
                chosen = waiting_starts
            for task in chosen:
                _fire_start_event_once(task)
            if chosen:
                self._run_engine(finished)
                # A cycle start event notices its last occurrence on the timer refresh that ends the
                # run above; one more run completes it.
                self._run_engine(finished)

        return self._step(finished, run)

    def complete_human_task(self, task_id, data):
        """Complete a READY user or manual task with the officer's data, then run on.

        The task itself is in ``finished`` when its completion went through, even if a later
        element failed.
        """
        task = self._workflow.get_task_from_id(UUID(str(task_id)))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReadyError(f"Task {task_id} is not ready to be completed.")
        finished = []

        def run():
            task.data.update(data or {})
            self._guarded(task, task.run)
            finished.append(_activity(task))
            self._run_engine(finished)

        return self._step(finished, run)

    def fire_timer(self, task_id):
        """Let a waiting timer event pass now (the sweeper decided it is due), then run on.

        Returns None when the task is no longer waiting (cancelled or already fired).
        """
        task = self._workflow.get_task_from_id(UUID(str(task_id)))
        if task is None or task.state != TaskState.WAITING:
            return None
        finished = []

        def run():
            self._guarded(task, lambda: _mark_timer_fired(task))
            self._run_engine(finished)

        return self._step(finished, run)

    def deliver_message(self, name, payload):
        """Let every element waiting for the message ``name`` catch it, then run on.

        The payload is merged into the data of each catching task (see ``messages.py``). Returns None
        when nothing waits for the message (or its correlation properties do not match); raises
        ``TaskDataInvalidError`` when the message must carry correlation properties it lacks.
        """
        catchers = message_catchers(self._workflow, name, payload)
        if not catchers:
            return None
        finished = []

        def run():
            for task, event in catchers:
                self._guarded(task, lambda task=task, event=event: catch_message(task, event))
            self._run_engine(finished)

        return self._step(finished, run)

    def _has_none_start_event(self):
        return any(
            isinstance(spec, StartEvent) and isinstance(spec.event_definition, NoneEventDefinition)
            for spec in self._workflow.spec.task_specs.values()
        )

    @staticmethod
    def _step(finished, run):
        try:
            run()
        except ProcessStepError as error:
            return StepResult(finished, error)
        return StepResult(finished, None)

    def _run_engine(self, finished):
        current = {}

        def will_complete(task):
            current["task"] = task

        def did_complete(task):
            current.pop("task", None)
            if task.task_spec.bpmn_id:
                finished.append(_activity(task))

        try:
            self._workflow.do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete)
        except Exception as error:  # noqa: BLE001 - every engine failure becomes the instance's error
            task = current.get("task")
            raise _step_error(task, error)

    def _guarded(self, task, action):
        try:
            action()
        except Exception as error:  # noqa: BLE001
            raise _step_error(task, error)


def _step_error(task, error):
    element_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    if task is not None and task.state in (TaskState.READY, TaskState.STARTED, TaskState.WAITING):
        task._set_state(TaskState.ERROR)
    message = _readable(error)
    return ProcessStepError(message, element_id=element_id)


def _readable(error):
    cause = getattr(error, "exception", None) or error.__cause__ or error
    base = str(cause) or type(cause).__name__
    if cause is not error and str(error) and str(error) not in base:
        return f"{error}: {base}"
    return base


def _activity(task):
    spec = task.task_spec
    return CompletedActivity(
        task_id=task.id,
        element_id=spec.bpmn_id or spec.name,
        name=spec.bpmn_name or spec.bpmn_id or spec.name,
        element_type=_element_type(spec),
        decision=decision_summary(task),
    )


def _element_type(spec):
    """The BPMN element name (userTask, exclusiveGateway, ...) as SpiffWorkflow describes it."""
    return getattr(spec, "description", None) or type(spec).__name__


def _timer_kind(spec):
    if isinstance(spec, BoundaryEvent):
        return "boundary"
    if isinstance(spec, StartEvent):
        return "start"
    return "intermediate"


def _due_at(task):
    """When a waiting timer task comes due, from what SpiffWorkflow computed when it started waiting."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):  # cycle: {'cycles': n, 'next': iso, 'duration': seconds}
        if value.get("cycles") == 0:
            return None
        return datetime.fromisoformat(value["next"])
    if isinstance(value, str):
        if value.upper().startswith("P"):
            return None
        return TimerEventDefinition.get_datetime(value)
    return None


def _mark_timer_fired(task):
    definition = task.task_spec.event_definition
    if isinstance(definition, CycleTimerEventDefinition):
        value = task._get_internal_data("event_value")
        if isinstance(value, dict) and value.get("cycles"):
            moment = min(datetime.fromisoformat(value["next"]), datetime.now(UTC) - timedelta(microseconds=1))
            value["next"] = moment.isoformat()
            task._set_internal_data(event_value=value)
        else:
            task._set_internal_data(event_fired=True)
    else:
        task._set_internal_data(event_fired=True)
    task.task_spec._update(task)


def _fire_start_event_once(task):
    """A timer start event starts this instance once; its repetitions belong to the definition."""
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        just_now = datetime.now(UTC) - timedelta(seconds=1)
        task._set_internal_data(event_value={"cycles": 1, "next": just_now.isoformat(), "duration": 0})
    else:
        task._set_internal_data(event_fired=True)
    task.task_spec._update(task)
