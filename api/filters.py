import django_filters
from django.db.models import Q, Subquery
from django.utils import timezone

from engine.models import (
    Agency,
    HumanTask,
    HumanTaskCandidateGroup,
    HumanTaskStatus,
    InstanceStatus,
    ProcessInstance,
)

from .inbox_filters import AssignedFilter, VariableFilter, lists_open_tasks

TASK_STATUS_CHOICES = [("open", "Open (ready or claimed)"), *HumanTaskStatus.choices]


def filters_given(params):
    """Whether the inbox query ``params`` narrow the open tasks (``status=open`` and ordering do not)."""
    return any(
        params.get(name) not in (None, "") and not (name == "status" and params.get(name) == "open")
        for name in HumanTaskFilter.base_filters
    )


class HumanTaskFilter(django_filters.FilterSet):
    """The inbox filters. They narrow the view's queryset, which already holds only open tasks unless
    ``status`` asks for closed ones (``lists_open_tasks``): the selector shapes its query by that, and
    repeating the condition here would only skew the planner's row estimates."""

    process = django_filters.CharFilter(field_name="process_key", help_text="Process key (BPMN process id).")
    status = django_filters.ChoiceFilter(
        choices=TASK_STATUS_CHOICES, method="filter_status", help_text="Default: open (ready or claimed)."
    )
    instance = django_filters.NumberFilter(field_name="instance_id")
    name = django_filters.CharFilter(field_name="name", help_text="Task name, exactly.")
    name_contains = django_filters.CharFilter(field_name="name", lookup_expr="icontains",
                                              help_text="Part of the task name, any case.")
    element_id = django_filters.CharFilter(field_name="element_id", help_text="BPMN element id of the task.")
    agency = django_filters.CharFilter(method="filter_agency", help_text="Agency code.")
    candidate_group = django_filters.CharFilter(
        method="filter_candidate_group", help_text="Name of a group the task is offered to (``agency/Group``)."
    )
    assigned = AssignedFilter(help_text="``me``, ``none`` (unassigned) or a username (supervisors, managers).")
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt",
                                                  help_text="Due before this ISO 8601 moment.")
    due_after = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gt",
                                                 help_text="Due after this ISO 8601 moment.")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Open and past its due date.")
    priority = django_filters.NumberFilter(field_name="priority")
    priority_min = django_filters.NumberFilter(field_name="priority", lookup_expr="gte")
    tracking_code = django_filters.CharFilter(field_name="instance__tracking_code")
    var = VariableFilter(help_text="``name:value``, repeatable: the process variable equals the value (JSON "
                                   "when it parses as JSON: ``true``, ``5``, ``\"5\"``; else text).")

    class Meta:
        model = HumanTask
        fields = ["process", "status", "instance"]

    def filter_agency(self, queryset, name, value):
        return queryset.filter(agency_id=Subquery(Agency.objects.filter(code=value).values("pk")[:1]))

    def filter_candidate_group(self, queryset, name, value):
        offers = HumanTaskCandidateGroup.objects.filter(group__name=value)
        return queryset.filter(pk__in=offers.values("humantask_id"))

    def filter_overdue(self, queryset, name, value):
        """Open and past the due date (a closed task is never overdue)."""
        if not lists_open_tasks(self.data):
            return queryset.none() if value else queryset
        overdue = Q(due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_status(self, queryset, name, value):
        """``open`` is the view's default scope already; a single status narrows it."""
        return queryset if value == "open" else queryset.filter(status=value)


class InstanceFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(field_name="process_key")
    status = django_filters.ChoiceFilter(choices=InstanceStatus.choices)
    tracking_code = django_filters.CharFilter(field_name="tracking_code")

    class Meta:
        model = ProcessInstance
        fields = ["process", "status", "tracking_code"]
