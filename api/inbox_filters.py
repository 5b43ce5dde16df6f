"""Inbox filters that need more than a field and a lookup: process variables and the assignee."""

import json

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import CharField, F, Func, Subquery, Value
from django.db.models.fields.json import KeyTransform, compile_json_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from engine import selectors as engine_selectors
from engine.exceptions import PermissionDeniedError
from engine.models import OPEN_TASK_STATUSES
from engine.task_variables import VARIABLE_NAME, canonical_value


def lists_open_tasks(params):
    """Whether the inbox query ``params`` ask for open tasks only (no ``status``, or an open one)."""
    return params.get("status") in (None, "", "open", *OPEN_TASK_STATUSES)


def variables_filtered(params):
    """How the inbox query ``params`` filter on process variables, for choosing the query's shape: not at all
    (None), on a variable the open tasks carry (``BY_CARRIED_VARIABLES``), or only on the instance's data."""
    raw = params.getlist("var") if hasattr(params, "getlist") else params.get("var")
    if not raw:
        return None
    try:
        conditions = VariableConditionsField().clean(raw if isinstance(raw, list) else [raw])
    except forms.ValidationError:
        return engine_selectors.BY_INSTANCE_DATA  # answered with a 400 by the filter
    if lists_open_tasks(params) and any(canonical_value(value) is not None for _name, value in conditions):
        return engine_selectors.BY_CARRIED_VARIABLES
    return engine_selectors.BY_INSTANCE_DATA


def _json_or_text(text):
    """``true``, ``5``, ``"x"`` or ``null`` as JSON; anything that is not JSON as the text itself."""

    def refuse(constant):
        raise ValueError(f"{constant} is not a JSON value")

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError:
        return text


class VariableConditionsField(forms.Field):
    """Repeated ``name:value`` query parameters as (name, value) pairs; the name is an identifier."""

    widget = forms.MultipleHiddenInput  # reads every value of a repeated parameter

    def to_python(self, value):
        conditions = []
        for raw in value or []:
            name, separator, text = raw.partition(":")
            if not separator or not VARIABLE_NAME.fullmatch(name):
                raise forms.ValidationError(
                    f"{raw!r} is not name:value with a variable name of letters, digits and underscores."
                )
            conditions.append((name, _json_or_text(text)))
        return conditions


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class VariableFilter(django_filters.Filter):
    """Tasks whose instance's process variable ``name`` equals ``value`` (every condition must hold).

    Listing open tasks, a plain value (text up to 100 characters, number, true/false, null) is looked up
    in the variables the open tasks carry (``engine.task_variables``), whose index lists the matching
    tasks in the page's order. Otherwise (closed tasks, lists, objects, long texts) the instance's data
    is read: on PostgreSQL a plain value by containment, ``data @> {"name": value}`` (equality for such a
    value, which the GIN index on the data answers when the value is rare); lists and objects, and other
    databases, by the key lookup ``data -> 'name' = value``. Both ways give the same tasks.
    """

    field_class = VariableConditionsField

    def filter(self, qs, value):
        open_only = lists_open_tasks(self.parent.data)
        for index, (name, expected) in enumerate(value or []):
            carried = canonical_value(expected) if open_only else None
            if carried is not None:
                qs = engine_selectors.human_task_with_variable(qs, name, carried, user=self.parent.request.user)
            else:
                qs = with_instance_variable(qs, name, expected, alias=f"variable_{index}")
        return qs


def with_instance_variable(qs, name, expected, *, alias):
    """The tasks of ``qs`` whose instance's data holds ``expected`` in ``name``, read from the data."""
    vendor = connections[qs.db].vendor
    if vendor == "postgresql" and not isinstance(expected, dict | list):
        return qs.filter(instance__data__contains={name: expected})
    qs = qs.alias(**{alias: KeyTransform(name, "instance__data")}).filter(**{alias: expected})
    if vendor == "sqlite":
        # SQLite's JSON functions give true as 1: the value's JSON type must be the one asked for too.
        json_type = Func(F("instance__data"), Value(compile_json_path([name])), function="JSON_TYPE",
                         output_field=CharField())
        qs = qs.alias(**{f"{alias}_type": json_type}).filter(**{f"{alias}_type__in": _json_types(expected)})
    return qs


def _json_types(value):
    """What SQLite's ``JSON_TYPE`` calls a JSON value like ``value``."""
    if value is None:
        return ["null"]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float):
        return ["integer", "real"]
    if isinstance(value, str):
        return ["text"]
    return ["array"] if isinstance(value, list) else ["object"]


@extend_schema_field(OpenApiTypes.STR)
class AssignedFilter(django_filters.CharFilter):
    """``me``, ``none`` (unassigned), or a username: another's tasks only for those who watch an agency."""

    def filter(self, qs, value):
        if not value:
            return qs
        user = self.parent.request.user
        if value == "me":
            return qs.filter(assignee_id=user.pk)
        if value == "none":
            return qs.filter(assignee__isnull=True)
        if value != user.get_username() and not engine_selectors.human_task_assignments_visible_to(user):
            raise PermissionDeniedError("Only supervisors and managers may list the tasks of another user.")
        assignee = get_user_model().objects.filter(username=value).values("pk")[:1]
        return qs.filter(assignee_id=Subquery(assignee))
