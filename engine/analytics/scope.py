"""What a report covers: an agency's processes, optionally one process, one version, a date range.

A scope is resolved to the (few) definition ids it covers before any report runs, so the big tables
are filtered by indexed columns: instances by ``definition_id``, tasks by ``agency_id`` and
``process_key`` (a task's agency is its definition's), history events by ``definition_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from processes.models import ProcessDefinition


@dataclass(frozen=True)
class Scope:
    """``agency_ids`` None means every agency (superusers); dates bound the report's own timestamp."""

    agency_ids: tuple[int, ...] | None = None
    process_key: str | None = None
    version: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    as_of: datetime = field(default_factory=timezone.now)

    @property
    def restricted(self) -> bool:
        return self.agency_ids is not None or self.process_key is not None or self.version is not None

    def definitions(self):
        definitions = ProcessDefinition.objects.all()
        if self.agency_ids is not None:
            definitions = definitions.filter(agency_id__in=self.agency_ids)
        if self.process_key is not None:
            definitions = definitions.filter(key=self.process_key)
        if self.version is not None:
            definitions = definitions.filter(version=self.version)
        return definitions

    def definition_ids(self) -> list[int]:
        return list(self.definitions().values_list("id", flat=True))


@dataclass
class Where:
    """A WHERE clause built up with its parameters."""

    clauses: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)

    def add(self, clause, *params):
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def add_in(self, column, values):
        if not values:
            return self.add("1 = 0")
        return self.add(f"{column} IN ({', '.join(['%s'] * len(values))})", *values)

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1 = 1"


def _dates(where: Where, scope: Scope, column: str) -> Where:
    if scope.date_from is not None:
        where.add(f"{column} >= %s", scope.date_from)
    if scope.date_to is not None:
        where.add(f"{column} < %s", scope.date_to)
    return where


def instances_where(scope: Scope, alias="i", date_column="started_at") -> Where:
    where = Where()
    if scope.restricted:
        where.add_in(f"{alias}.definition_id", scope.definition_ids())
    return _dates(where, scope, f"{alias}.{date_column}")


def tasks_where(scope: Scope, alias="t") -> Where:
    where = Where()
    if scope.version is not None:
        definition_ids = scope.definition_ids()
        if not definition_ids:
            return where.add("1 = 0")
        placeholders = ", ".join(["%s"] * len(definition_ids))
        where.add(f"{alias}.instance_id IN (SELECT id FROM engine_processinstance WHERE definition_id IN "
                  f"({placeholders}))", *definition_ids)
    else:
        if scope.agency_ids is not None:
            where.add_in(f"{alias}.agency_id", list(scope.agency_ids))
        if scope.process_key is not None:
            where.add(f"{alias}.process_key = %s", scope.process_key)
    return _dates(where, scope, f"{alias}.created_at")


def events_where(scope: Scope, alias="e") -> Where:
    where = Where()
    if scope.restricted:
        where.add_in(f"{alias}.definition_id", scope.definition_ids())
    return _dates(where, scope, f"{alias}.occurred_at")
