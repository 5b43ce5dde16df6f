"""A new inbox row's set-up from the definition's element catalog: who gets it, when it is due, how urgent.

Applied once, when ``engine.services.steps`` creates the ``HumanTask``; the catalog entry is what
``processes.extensions`` read from the model at deploy time. Expressions are evaluated by the
restricted evaluator against the data the task sees. The task is offered to:

1. the catalog's candidate users and groups, when the task names any (groups through
   ``resolve_group`` with the definition's agency, so ``code/Group`` reaches another agency);
2. else its lane: the users listed for the lane in the process variable ``lane_owners``
   (SpiffArena's ``{lane name: [usernames]}``), the applicant for an applicant lane, else the lane's
   agency group.

A catalog assignee claims the task for that user at once. Nothing here stops a step: an expression
that fails falls back (to the lane, to no date, to priority 50) and is recorded in the task_created
event's ``problems``; usernames nobody has are ignored and recorded in its ``warnings``.
"""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.utils import timezone

from engine.agencies import is_applicant_lane, resolve_group
from engine.due_dates import due_moment
from engine.exceptions import ScriptError
from engine.expressions import sandbox
from engine.models import HumanTaskCandidateGroup, HumanTaskCandidateUser
from engine.prepared import insert_rows
from engine.selectors import human_task_offer_forget
from processes.extensions import clamp_priority

LANE_OWNERS_VARIABLE = "lane_owners"
DEFAULT_PRIORITY = 50


@dataclass
class TaskSetup:
    """What a new task starts with; candidates are ids, ready for the many-to-many fields."""

    priority: int = DEFAULT_PRIORITY
    due_at: datetime | None = None
    follow_up_at: datetime | None = None
    assignee: object = None
    candidate_user_ids: list = field(default_factory=list)
    candidate_group_ids: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def history_details(self):
        """What the task_created event keeps of the set-up: only the problems and warnings, if any."""
        details = {}
        if self.problems:
            details["problems"] = self.problems
        if self.warnings:
            details["warnings"] = self.warnings
        return details


def _evaluate(value, data):
    """A catalog VALUE: its literal, or its expression evaluated against ``data``."""
    if "expression" in value:
        return sandbox.evaluate(value["expression"], data)
    return value["value"]


class _Resolver:
    """Evaluates one catalog entry; every failure becomes a problem on the set-up, never an exception."""

    def __init__(self, instance, entry, data, setup):
        self.instance = instance
        self.entry = entry
        self.data = data
        self.setup = setup

    def attempt(self, what, value, compute):
        """``compute(evaluated value)``, or None with a problem recorded when either step fails."""
        try:
            return compute(_evaluate(value, self.data))
        except (ScriptError, ValueError, TypeError, OverflowError) as problem:
            self.setup.problems.append(f"{what} {value['text']!r} failed: {problem}")
            return None

    def zone(self):
        """The agency's time zone, for dates written without an offset."""
        try:
            return ZoneInfo(self.instance.definition.agency.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return timezone.get_default_timezone()

    def moment(self, key, what, created_at):
        value = self.entry.get(key)
        if not value:
            return None
        return self.attempt(what, value, lambda result: _optional_moment(result, created_at, self.zone))

    def priority(self):
        value = self.entry.get("priority")
        if not value:
            return DEFAULT_PRIORITY
        priority = self.attempt("priority", value, _whole_number)
        return DEFAULT_PRIORITY if priority is None else clamp_priority(priority)

    def assignee(self):
        value = self.entry.get("assignee")
        if not value:
            return None
        name = self.attempt("assignee", value, _optional_name)
        if not name:
            return None
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            self.setup.warnings.append(f"assignee {name!r} is not an active user; the task stays unassigned")
        return user

    def names(self, key, what):
        """The names a candidate list gives, or None when one of its values failed."""
        names = []
        for value in self.entry.get(key, []):
            found = self.attempt(what, value, _names)
            if found is None:
                return None
            names.extend(found)
        return names

    def catalog_candidates(self):
        """Candidate (user ids, group ids) named by the catalog; None to fall back to the lane."""
        if not self.entry.get("candidate_users") and not self.entry.get("candidate_groups"):
            return None
        user_names = self.names("candidate_users", "candidate users")
        group_names = self.names("candidate_groups", "candidate groups")
        if user_names is None or group_names is None:
            self.setup.problems.append("the task is offered to its lane instead")
            return None
        user_ids = self.known_user_ids(user_names, "candidate user")
        agency = self.instance.definition.agency
        group_ids = [resolve_group(name, agency).pk for name in dict.fromkeys(group_names)]
        if not user_ids and not group_ids:
            self.setup.warnings.append("the candidates name nobody known; the task is offered to its lane")
            return None
        return user_ids, group_ids

    def known_user_ids(self, names, what):
        names = list(dict.fromkeys(names))
        found = dict(
            get_user_model().objects.filter(username__in=names, is_active=True).values_list("username", "pk")
        )
        for name in names:
            if name not in found:
                self.setup.warnings.append(f"{what} {name!r} is not an active user; ignored")
        return [found[name] for name in names if name in found]

    def lane_owner_ids(self, lane):
        owners = self.data.get(LANE_OWNERS_VARIABLE)
        if owners is None:
            return []
        if not isinstance(owners, dict):
            self.setup.problems.append(f"{LANE_OWNERS_VARIABLE} must map lane names to usernames; ignored")
            return []
        listed = owners.get(lane, owners.get(lane.strip()))
        if listed is None:
            return []
        try:
            names = _names(listed)
        except ValueError as problem:
            self.setup.problems.append(f"{LANE_OWNERS_VARIABLE}[{lane!r}]: {problem}; the lane's group is used")
            return []
        return self.known_user_ids(names, f"lane owner of {lane!r}")

    def lane_candidates(self, lane):
        """Candidate (user ids, group ids) of the task's lane."""
        if not lane:
            return [], []
        owner_ids = self.lane_owner_ids(lane)
        if owner_ids:
            return owner_ids, []
        if is_applicant_lane(lane) and self.instance.applicant_id is not None:
            return [self.instance.applicant_id], []
        return [], [resolve_group(lane, self.instance.definition.agency).pk]


def _whole_number(result):
    if isinstance(result, bool) or not isinstance(result, (int, float, str)):
        raise ValueError(f"a priority must be a whole number, not {type(result).__name__}")
    try:
        number = float(result)
    except ValueError:
        raise ValueError(f"a priority must be a whole number, not {result!r}") from None
    if not number.is_integer():
        raise ValueError(f"a priority must be a whole number, not {result!r}")
    return int(number)


def _optional_moment(result, created_at, zone):
    if result is None or result == "":
        return None
    return due_moment(result, start=created_at, zone=zone)


def _optional_name(result):
    if result is None:
        return None
    if not isinstance(result, str):
        raise ValueError(f"an assignee must be a username, not {type(result).__name__}")
    return result.strip()


def _names(result):
    """Usernames or group names from a value: a comma-separated text, a list of texts, or None."""
    if result is None:
        return []
    if isinstance(result, str):
        return [name.strip() for name in result.split(",") if name.strip()]
    if isinstance(result, (list, tuple, set)) and all(isinstance(item, str) for item in result):
        return [item.strip() for item in result if item.strip()]
    raise ValueError(f"candidates must be a name, a comma-separated text or a list of names, not {result!r}")


def task_setup(*, instance, entry, lane, data, created_at):
    """The ``TaskSetup`` of a task created at ``created_at`` in ``lane`` with its catalog ``entry``."""
    setup = TaskSetup()
    resolver = _Resolver(instance, entry, data, setup)
    setup.priority = resolver.priority()
    setup.due_at = resolver.moment("due_date", "due date", created_at)
    setup.follow_up_at = resolver.moment("follow_up_date", "follow-up date", created_at)
    setup.assignee = resolver.assignee()
    candidates = resolver.catalog_candidates()
    setup.candidate_user_ids, setup.candidate_group_ids = candidates or resolver.lane_candidates(lane)
    return setup


def task_offer(task, setup):
    """Offer the created task to the set-up's candidates (a new task has no offers yet: one insert each)."""
    human_task_offer_forget(task)
    insert_rows([HumanTaskCandidateUser(humantask=task, user_id=user_id)
                 for user_id in dict.fromkeys(setup.candidate_user_ids)])
    insert_rows([HumanTaskCandidateGroup(humantask=task, group_id=group_id)
                 for group_id in dict.fromkeys(setup.candidate_group_ids)])
