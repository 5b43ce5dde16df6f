"""Decisions as plain data: what ``parse_dmn`` builds and ``evaluate`` reads and returns."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class HitPolicy(StrEnum):
    UNIQUE = "UNIQUE"
    FIRST = "FIRST"
    PRIORITY = "PRIORITY"
    ANY = "ANY"
    RULE_ORDER = "RULE ORDER"
    OUTPUT_ORDER = "OUTPUT ORDER"
    COLLECT = "COLLECT"


SINGLE_HIT_POLICIES = frozenset({HitPolicy.UNIQUE, HitPolicy.FIRST, HitPolicy.PRIORITY, HitPolicy.ANY})
AGGREGATIONS = frozenset({"SUM", "MIN", "MAX", "COUNT"})


@dataclass(frozen=True)
class Compiled:
    """An expression ready to run: a constant, or a restricted-evaluator expression on the context."""

    text: str  # as written in the file
    line: int | None
    constant: object = None
    expression: str | None = None  # engine.expressions.sandbox source; None for a constant


@dataclass(frozen=True)
class InputClause:
    id: str
    label: str
    expression: Compiled
    type_ref: str | None
    line: int | None


@dataclass(frozen=True)
class OutputClause:
    id: str
    name: str
    type_ref: str | None
    output_values: tuple  # allowed values, in priority order (PRIORITY / OUTPUT ORDER)
    line: int | None


@dataclass(frozen=True)
class Rule:
    index: int  # 1-based, as the modeler shows it
    id: str
    input_entries: tuple  # one unary test (engine.dmn.unary.UnaryTests) per input
    output_entries: tuple  # one Compiled per output
    line: int | None


@dataclass(frozen=True)
class DecisionTable:
    id: str
    hit_policy: HitPolicy
    aggregation: str | None  # SUM, MIN, MAX or COUNT (COLLECT only)
    inputs: tuple
    outputs: tuple
    rules: tuple
    line: int | None


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    table: DecisionTable
    required_decisions: tuple  # ids of decisions evaluated first; their results join the context
    filename: str
    line: int | None


@dataclass(frozen=True)
class DecisionSet:
    """The decisions of one or more DMN files, by id."""

    decisions: dict = field(default_factory=dict)

    def get(self, decision_id):
        return self.decisions.get(decision_id)

    def __contains__(self, decision_id):
        return decision_id in self.decisions

    def __iter__(self):
        return iter(self.decisions.values())

    def __len__(self):
        return len(self.decisions)

    def merged(self, other):
        return DecisionSet({**self.decisions, **other.decisions})


@dataclass(frozen=True)
class MatchedRule:
    index: int
    id: str
    outputs: dict


@dataclass(frozen=True)
class DecisionResult:
    """What a decision table gave.

    ``matched`` are the rules that matched, in rule order (for PRIORITY and OUTPUT ORDER, in the order
    the policy chose). ``result_list`` is Camunda's "result list": one dict of outputs per rule the hit
    policy selected (at most one for UNIQUE, FIRST, PRIORITY, ANY), or a single ``{output: aggregate}``
    for COLLECT with an aggregation.
    """

    decision_id: str
    hit_policy: HitPolicy
    aggregation: str | None
    output_names: tuple
    matched: tuple
    result_list: list
    required: tuple = ()  # DecisionResults of the required decisions, in evaluation order

    @property
    def single_result(self):
        """True when the policy yields at most one result (single-hit policies, aggregations)."""
        return self.hit_policy in SINGLE_HIT_POLICIES or self.aggregation is not None

    def summary(self):
        """A JSON-ready description for history: decision, matched rules, outputs."""
        return {
            "decision_id": self.decision_id,
            "hit_policy": str(self.hit_policy) + (f" {self.aggregation}" if self.aggregation else ""),
            "matched_rules": [{"index": rule.index, "id": rule.id} for rule in self.matched],
            "outputs": json_ready(self.result_list),
            "required": [required.summary() for required in self.required],
        }


def json_ready(value):
    """The value with dates, times and durations as ISO text, so it fits a JSON column."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_ready(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value
