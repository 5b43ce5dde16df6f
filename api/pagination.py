import json
import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.core.exceptions import ValidationError
from django.db.models import F, Field, Q
from rest_framework import pagination
from rest_framework.exceptions import NotFound


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 500)."""

    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetCursorPagination(pagination.CursorPagination):
    """Cursor pages in any ``ordering`` the view allows, at the same cost on the first page and the last.

    DRF's cursor keeps the first sort key and an offset for ties, which degrades to offset paging when
    many rows share a value (``priority``). Here the position is every sort key plus the id, so it is
    exact and needs no offset. Rows without a value (no due date) come last in ascending order, first
    in descending order (its exact reverse), on PostgreSQL and SQLite alike. The page's ids are found
    by a query that reads nothing else, so an index alone can answer it; the rows are then loaded by id
    in a second query, with the view's ``load_page_rows(ids)`` when it has one.

    ``?page_size=`` is capped at ``max_page_size``; ``next`` and ``previous`` are links, there is no count.

    A queryset may say where a sort key is read from with an alias named ``sort_key_<field>`` holding the
    same value as the field (the inbox's ``var=`` filter points them at the rows of its own index, so the
    page is found by walking that index): the page's order and the cursor's conditions then use it.
    """

    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("created_at",)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = _with_tiebreaker(self.get_ordering(request, queryset, view))
        self.cursor = self.decode_cursor(request)
        reverse = self.cursor is not None and self.cursor.reverse
        keys = _sort_keys(queryset, self.ordering, reverse)
        position = self._decoded_position(keys)
        found = queryset if position is None else queryset.filter(_after(keys, position))
        order = [_order_expression(key, key.column) for key in keys]
        ids = list(found.order_by(*order).values_list("pk", flat=True)[: self.page_size + 1])
        load_page_rows = getattr(view, "load_page_rows", None)
        rows = load_page_rows(ids) if load_page_rows else queryset.filter(pk__in=ids)
        results = list(rows.order_by(*[_order_expression(key, key.name) for key in keys]))
        self.page = results[: self.page_size]
        following = None
        if len(results) > self.page_size:
            following = self._get_position_from_instance(results[-1], self.ordering)
        current = self.cursor.position if position is not None else None
        if reverse:
            self.page.reverse()
            self.has_next, self.next_position = current is not None, current
            self.has_previous, self.previous_position = following is not None, following
        else:
            self.has_next, self.next_position = following is not None, following
            self.has_previous, self.previous_position = current is not None, current
        self.display_page_controls = self.has_previous or self.has_next
        return self.page

    def _decoded_position(self, keys):
        if self.cursor is None or self.cursor.position is None:
            return None
        try:
            values = json.loads(self.cursor.position)
            if not isinstance(values, list) or len(values) != len(keys):
                raise ValueError("the cursor does not match the ordering")
            return [None if value is None else key.field.to_python(value)
                    for key, value in zip(keys, values, strict=True)]
        except (ValueError, TypeError, ValidationError):
            raise NotFound(self.invalid_cursor_message)

    def _get_position_from_instance(self, instance, ordering):
        names = [name.lstrip("-") for name in ordering]
        if isinstance(instance, dict):  # a row the view loaded as plain values
            values = [instance[name] for name in names]
        else:
            values = [getattr(instance, name) for name in names]
        return json.dumps([value.isoformat() if isinstance(value, datetime) else value for value in values])


SORT_KEY_ALIAS = "sort_key_{}"


@dataclass(frozen=True)
class _SortKey:
    field: Field
    descending: bool
    column: str  # what the page's query sorts and compares: the field, or the queryset's alias for it

    @property
    def name(self):
        return self.field.attname if self.field.primary_key else self.field.name


def _with_tiebreaker(ordering):
    """The ordering ending with the primary key, in the first key's direction (one index serves both)."""
    ordering = tuple(ordering)
    if ordering[-1].lstrip("-") in ("pk", "id"):
        return ordering
    return (*ordering, "-id" if ordering[0].startswith("-") else "id")


def _sort_keys(queryset, ordering, reverse):
    meta, aliases = queryset.model._meta, queryset.query.annotations
    keys = []
    for name in ordering:
        field = meta.pk if name.lstrip("-") in ("pk", "id") else meta.get_field(name.lstrip("-"))
        column = field.attname if field.primary_key else field.name
        alias = SORT_KEY_ALIAS.format(column)
        keys.append(_SortKey(field, name.startswith("-") != reverse, alias if alias in aliases else column))
    return keys


def _order_expression(key, column):
    """Ascending puts rows without a value last, descending first: each order is the other's exact reverse."""
    column = F(column)
    return column.desc(nulls_first=True) if key.descending else column.asc(nulls_last=True)


def _after(keys, values):
    """Rows strictly after the row whose sort values are ``values``, in the order ``keys`` give."""
    alternatives = []
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        beyond = _beyond(key, value)
        if beyond is not None:
            alternatives.append(equal & beyond)
        equal &= Q(**{f"{key.column}__isnull": True}) if value is None else Q(**{key.column: value})
    condition = reduce(operator.or_, alternatives)  # never empty: the id always has a value
    bound = _first_key_bound(keys[0], values[0])
    return condition if bound is None else bound & condition


def _beyond(key, value):
    """Rows whose value of ``key`` comes strictly after ``value`` (None: nothing comes after it)."""
    if value is None:
        return Q(**{f"{key.column}__isnull": False}) if key.descending else None
    beyond = Q(**{f"{key.column}__{'lt' if key.descending else 'gt'}": value})
    if key.field.null and not key.descending:
        beyond |= Q(**{f"{key.column}__isnull": True})
    return beyond


def _first_key_bound(key, value):
    """A range on the first key the index can start from (implied by the condition, so it changes nothing)."""
    if value is None:
        return None if key.descending else Q(**{f"{key.column}__isnull": True})
    if key.field.null and not key.descending:
        return None
    return Q(**{f"{key.column}__{'lte' if key.descending else 'gte'}": value})
