"""A discrete-event simulation of an office that drives the real engine on a simulated clock.

Events (an application arrives, an officer finishes a task, an applicant answers, a message comes in,
the timer sweeper runs) are taken from a heap in time order. Before each one the clock every part of
the engine reads (``timezone.now()``, SpiffWorkflow's ``datetime.now()``, model defaults) is moved to the
event's moment with time-machine, and the event calls the same services the API calls:
``instance_start`` as the applicant, ``human_task_claim`` and ``human_task_complete`` as an officer,
``message_correlate`` as the applicant, ``timers_claim_due`` / ``timer_fire`` as the sweeper. So the
history it leaves is the history the engine writes, service levels, escalations and all.

The office: each group (a lane or candidate group) has a number of officers, who work one task at a
time, oldest first, only in the agency's working hours. Handling times count working time only.
Applicants answer after calendar days, or never (``abandon``). Every random draw comes from a stream
seeded by the seed and its purpose, and events at the same moment are taken in the order they were
scheduled, so a seed and a period give the same history every time.
"""

import heapq
import itertools
import random
from collections import Counter, deque
from datetime import date, datetime, timedelta

import time_machine
from django.db import transaction

from engine.agencies import agency_group, is_applicant_lane
from engine.calendars.for_agency import calendar_for_agency
from engine.exceptions import EngineError
from engine.models import MessageSubscription, MessageSubscriptionStatus, Timer
from engine.reference_data import reference_data_pinned
from engine.services import human_task_claim, human_task_complete, instance_start, message_correlate, timer_fire
from engine.services.steps import projections_deferred, tasks_opened_observed
from engine.services.timers import timers_claim_due

from .profile import SimulationProfileError, TaskProfile, Triangle, choose_outcome, sample_data
from .staff import citizens_ensure, group_home, officers_ensure

DEFAULT_WORK = TaskProfile(work_minutes=Triangle(5, 15, 60))
# Events at one moment run in this order of kinds, then in the order they were scheduled.
ARRIVAL, APPLICANT, TURNS_UP, MESSAGE, DONE, SWEEP, WAKE = range(7)


class Simulation:
    """``processes``: ``[(definition, ProcessProfile), ...]``; the period is ``[start, end)`` (aware datetimes).

    Each definition runs in its own agency, on that agency's calendar, with that agency's groups.
    """

    def __init__(self, *, processes, start, end, seed, citizens=300, sweep_minutes=60, batch_events=500,
                 progress=None):
        self.processes = sorted(processes, key=lambda item: item[0].key)
        self.start, self.end = start, end
        self.seed = seed
        self.sweep_every = timedelta(minutes=sweep_minutes)
        self.batch_events = batch_events
        self.progress = progress
        self.citizen_count = citizens
        self.calendars = {}  # agency id -> WorkingCalendar
        self.zone = start.tzinfo  # dates in the data (today, days ago) are read in the period's zone
        self.calendar_of_group = {}
        self.heap = []
        self.sequence = itertools.count()
        self.queues = {}  # group id -> deque of task ids waiting for an officer
        self.idle = {}  # group id -> deque of free officers
        self.tasks = {}  # task id -> (instance id, element id, profile, ids of the groups it is offered to)
        self.seen_tasks = set()
        self.seen_subscriptions = set()
        self.visits = Counter()
        self.applicant_of = {}
        self.profile_of = {}
        self.awaits_messages = {}  # instance id -> whether its process has a message to wait for
        self.message_waits_of = {}  # definition id -> the same, read from its BPMN once
        self.counters = {}
        self.wakes = set()
        self.clerk_turn = Counter()
        self.stats = Counter()
        self.warnings = Counter()

    def random(self, purpose):
        """An independent stream per purpose, so adding draws for one purpose leaves the others alone."""
        return random.Random(f"{self.seed}:{purpose}")

    # Set-up.

    def _prepare(self):
        staff = {}
        for definition, profile in self.processes:
            for reference, count in profile.staff.items():
                home = group_home(reference, definition.agency)
                key = (home[0].pk, home[1])
                staff[key] = (home, max(staff.get(key, (home, 0))[1], count))  # processes share an agency's groups
        pools = officers_ensure(dict(staff.values()))
        self.queues = {group_id: deque() for group_id in pools}
        self.pools = {group_id: officers for group_id, (_agency, officers) in pools.items()}
        self.idle = {group_id: deque(officers) for group_id, officers in self.pools.items()}
        self.calendar_of_group = {group_id: self._calendar(agency) for group_id, (agency, _officers) in pools.items()}
        self.citizens = citizens_ensure(self.citizen_count)
        self.draw = {
            "citizens": self.random("citizens"),
            "work": self.random("work"),
            "outcomes": self.random("outcomes"),
            "applicants": self.random("applicants"),
        }
        for definition, profile in self.processes:
            stream = self.random(f"arrivals:{definition.key}")
            calendar = self._calendar(definition.agency)
            working_seconds = self._working_seconds_per_day(calendar)
            self._next_arrival(self.start, (definition, profile, stream, calendar, working_seconds))
        self._schedule(self.start, SWEEP, None)

    def _calendar(self, agency):
        if agency.pk not in self.calendars:
            self.calendars[agency.pk] = calendar_for_agency(agency)
        return self.calendars[agency.pk]

    def _working_seconds_per_day(self, calendar):
        """Average working seconds of a working day over the period (for arrivals per working day)."""
        days = [self.start.date() + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]
        working_days = sum(1 for day in days if calendar.is_working_day(day)) or 1
        return calendar.working_time_between(self.start, self.end).total_seconds() / working_days or 1.0

    def _schedule(self, moment, kind, payload):
        if moment < self.end:
            heapq.heappush(self.heap, (moment, kind, next(self.sequence), payload))

    # The loop.

    def run(self):
        """Run the whole period; returns the counters (instances started, tasks completed, ...)."""
        with time_machine.travel(self.start, tick=False) as clock, reference_data_pinned():
            self._prepare()
            handlers = {ARRIVAL: self._arrival, APPLICANT: self._applicant_answers, TURNS_UP: self._turns_up,
                        MESSAGE: self._message,
                        DONE: self._officer_done, SWEEP: self._sweep, WAKE: self._wake}
            while self.heap:
                with transaction.atomic(), projections_deferred():
                    for _ in range(self.batch_events):
                        if not self.heap:
                            break
                        moment, kind, _sequence, payload = heapq.heappop(self.heap)
                        clock.move_to(moment)
                        handlers[kind](moment, payload)
                        self.stats["events"] += 1
                if self.progress is not None:
                    self.progress(moment, self.stats)
        return self.stats

    def _arrival(self, moment, payload):
        definition, profile, stream, _calendar, _working_seconds = payload
        citizen = self.citizens[self.draw["citizens"].randrange(len(self.citizens))]
        today = moment.astimezone(self.zone).date()
        data = sample_data(profile.start_data, stream, self.counters, today)
        clerk = self._clerk(definition, profile)
        with tasks_opened_observed() as opened:
            instance = instance_start(definition=definition, data=data, actor=clerk or citizen, applicant=citizen)
        self.stats["instances started"] += 1
        self.applicant_of[instance.pk] = citizen
        self.profile_of[instance.pk] = profile
        self.awaits_messages[instance.pk] = self._can_await_messages(definition)
        self._follow(instance.pk, moment, opened)
        self._next_arrival(moment, payload)

    def _next_arrival(self, moment, payload):
        """Poisson arrivals: in working time for an office, around the clock for an online service."""
        _definition, profile, stream, calendar, working_seconds = payload
        if profile.per_working_day:
            gap = timedelta(seconds=stream.expovariate(profile.per_working_day / working_seconds))
            self._schedule(calendar.add_working_time(moment, gap), ARRIVAL, payload)
        elif profile.per_day:
            self._schedule(moment + timedelta(seconds=stream.expovariate(profile.per_day / 86400)), ARRIVAL, payload)

    def _clerk(self, definition, profile):
        """The officer who registers a counter application (round robin in the group), or None: online.

        Registering takes no officer time in the simulation: the counter work is the tasks that follow.
        """
        if not profile.started_by:
            return None
        agency, name = group_home(profile.started_by, definition.agency)
        group_id = agency_group(agency, name).pk
        if group_id not in self.idle:
            raise SimulationProfileError(f"{definition.key}: started_by {profile.started_by!r} has no staff")
        officers = self.pools[group_id]
        self.clerk_turn[group_id] += 1
        return officers[self.clerk_turn[group_id] % len(officers)]

    def _follow(self, instance_id, moment, opened):
        """Pick up the tasks a step of the instance opened (``opened``, from ``tasks_opened_observed``) and its
        awaited messages, and plan what follows."""
        profile = self.profile_of[instance_id]
        officer_tasks = []
        for entry in opened:
            task_id, element_id, lane = entry.task.pk, entry.task.element_id, entry.task.lane
            if entry.task.instance_id != instance_id or task_id in self.seen_tasks:
                continue
            self.seen_tasks.add(task_id)
            task_profile = profile.tasks.get(element_id)
            if task_profile is None:
                self.warnings[f"{profile.process_key}.{element_id}: no profile, 5-60 minutes with no data"] += 1
                task_profile = DEFAULT_WORK
            self.tasks[task_id] = (instance_id, element_id, task_profile, entry.group_ids)
            if task_profile.by_applicant or is_applicant_lane(lane):
                self._plan_applicant(moment, task_id, task_profile)
            elif task_profile.ready_after_days is not None:
                self._plan_turning_up(moment, task_id, task_profile)
            else:
                officer_tasks.append(task_id)
        if officer_tasks:
            self._queue_for_officers(officer_tasks, moment)
        self._plan_messages(instance_id, moment, profile)

    def _queue_for_officers(self, task_ids, moment):
        """Queue the tasks for the first group each is offered to that has simulated officers."""
        for task_id in task_ids:
            _instance_id, element_id, _profile, group_ids = self.tasks[task_id]
            group_id = next((group_id for group_id in group_ids if group_id in self.queues), None)
            if group_id is None:
                self.warnings[f"{element_id}: offered to no simulated group; left open"] += 1
                continue
            self.queues[group_id].append(task_id)
        self._dispatch(moment)

    def _plan_applicant(self, moment, task_id, task_profile):
        draw = self.draw["applicants"]
        if task_profile.abandon and draw.random() < task_profile.abandon:
            self.stats["applicants who never answered"] += 1
            return
        days = (task_profile.applicant_days or Triangle(1, 3, 10)).sample(draw)
        self._schedule(moment + timedelta(days=days), APPLICANT, task_id)

    def _plan_turning_up(self, moment, task_id, task_profile):
        draw = self.draw["applicants"]
        if task_profile.abandon and draw.random() < task_profile.abandon:
            self.stats["applicants who never answered"] += 1
            return
        self._schedule(moment + timedelta(days=task_profile.ready_after_days.sample(draw)), TURNS_UP, task_id)

    def _turns_up(self, moment, task_id):
        self._queue_for_officers([task_id], moment)

    def _can_await_messages(self, definition):
        """Whether the process has a message event or receive task: if not, no step can subscribe to one."""
        if definition.pk not in self.message_waits_of:
            xml = definition.bpmn_xml
            self.message_waits_of[definition.pk] = "messageEventDefinition" in xml or "receiveTask" in xml
        return self.message_waits_of[definition.pk]

    def _plan_messages(self, instance_id, moment, profile):
        if not self.awaits_messages.get(instance_id, True):
            return
        waiting = (
            MessageSubscription.objects.filter(instance_id=instance_id, status=MessageSubscriptionStatus.WAITING)
            .order_by("pk")
            .values_list("pk", "message_name", "correlation_key")
        )
        for subscription_id, name, correlation_key in waiting:
            if subscription_id in self.seen_subscriptions:
                continue
            self.seen_subscriptions.add(subscription_id)
            message = profile.messages.get(name)
            if message is None:
                self.warnings[f"message {name!r}: no profile; never sent"] += 1
                continue
            draw = self.draw["applicants"]
            if message.abandon and draw.random() < message.abandon:
                self.stats["applicants who never answered"] += 1
                continue
            when = moment + timedelta(days=message.applicant_days.sample(draw))
            self._schedule(when, MESSAGE, (instance_id, name, correlation_key, message.data))

    def _dispatch(self, moment):
        """Every free officer with work waiting takes the oldest task of their group, in their office's hours."""
        for group_id in sorted(self.queues):
            queue, idle = self.queues[group_id], self.idle[group_id]
            if not (queue and idle):
                continue
            calendar = self.calendar_of_group[group_id]
            if not calendar.is_working_time(moment):
                opening = calendar.next_working_moment(moment)
                if opening not in self.wakes:
                    self.wakes.add(opening)
                    self._schedule(opening, WAKE, None)
                continue
            while queue and idle:
                task_id = queue.popleft()
                officer = idle[0]
                try:
                    human_task_claim(task_id=task_id, actor=officer)
                except EngineError:  # cancelled or taken on meanwhile: the next one
                    self.stats["tasks gone before claimed"] += 1
                    continue
                idle.popleft()
                minutes = self.tasks[task_id][2].work_minutes or DEFAULT_WORK.work_minutes
                worked = timedelta(minutes=minutes.sample(self.draw["work"]))
                finished = calendar.add_working_time(moment, worked)
                self._schedule(finished, DONE, (task_id, officer, group_id))

    def _wake(self, moment, _payload):
        self.wakes.discard(moment)
        self._dispatch(moment)

    def _outcome(self, task_id, moment):
        instance_id, element_id, task_profile, _group_ids = self.tasks[task_id]
        self.visits[(instance_id, element_id)] += 1
        outcomes = task_profile.outcomes
        if self.visits[(instance_id, element_id)] > 1 and task_profile.outcomes_on_repeat:
            outcomes = task_profile.outcomes_on_repeat
        draw = self.draw["outcomes"]
        today = moment.astimezone(self.zone).date()
        return instance_id, sample_data(choose_outcome(outcomes, draw), draw, self.counters, today)

    def _complete(self, task_id, actor, moment):
        instance_id, data = self._outcome(task_id, moment)
        try:
            with tasks_opened_observed() as opened:
                human_task_complete(task_id=task_id, actor=actor, data=data)
        except EngineError as error:
            self.warnings[f"{self.tasks[task_id][1]}: {type(error).__name__}"] += 1
            return
        self.stats["tasks completed"] += 1
        self._follow(instance_id, moment, opened)

    def _officer_done(self, moment, payload):
        task_id, officer, group_id = payload
        self._complete(task_id, officer, moment)
        self.idle[group_id].append(officer)
        self._dispatch(moment)

    def _applicant_answers(self, moment, task_id):
        self._complete(task_id, self.applicant_of[self.tasks[task_id][0]], moment)

    def _message(self, moment, payload):
        instance_id, name, correlation_key, data = payload
        try:
            with tasks_opened_observed() as opened:
                message_correlate(name=name, correlation_key=correlation_key, data=data,
                                  actor=self.applicant_of[instance_id])
        except EngineError as error:
            self.warnings[f"message {name!r}: {type(error).__name__}"] += 1
            return
        self.stats["messages delivered"] += 1
        self._follow(instance_id, moment, opened)

    def _sweep(self, moment, _payload):
        """What the periodic sweeper does: fire every due timer, then see what the instances do next."""
        while timer_ids := timers_claim_due(now=moment):
            owners = dict(Timer.objects.filter(pk__in=timer_ids).values_list("pk", "instance_id"))
            for timer_id in timer_ids:
                with tasks_opened_observed() as opened:
                    fired = timer_fire(timer_id=timer_id)
                if fired:
                    self.stats["timers fired"] += 1
                    instance_id = owners.get(timer_id)
                    if instance_id in self.profile_of:
                        self._follow(instance_id, moment, opened)
        self._schedule(moment + self.sweep_every, SWEEP, None)


def simulation_period(end_day, months, zone):
    """``(start, end)``: midnight ``months`` months before ``end_day`` to midnight of ``end_day``, in ``zone``."""
    month_index = end_day.year * 12 + end_day.month - 1 - months
    start_day = date(month_index // 12, month_index % 12 + 1, min(end_day.day, 28))
    return (datetime.combine(start_day, datetime.min.time(), zone),
            datetime.combine(end_day, datetime.min.time(), zone))
