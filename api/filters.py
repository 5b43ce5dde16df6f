import django_filters

from engine.models import OPEN_TASK_STATUSES, HumanTask, HumanTaskStatus, InstanceStatus, ProcessInstance

TASK_STATUS_CHOICES = [("open", "Open (ready or claimed)"), *HumanTaskStatus.choices]


class HumanTaskFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(field_name="process_key", help_text="Process key (BPMN process id).")
    status = django_filters.ChoiceFilter(
        choices=TASK_STATUS_CHOICES, method="filter_status", help_text="Default: open (ready or claimed)."
    )
    instance = django_filters.NumberFilter(field_name="instance_id")

    class Meta:
        model = HumanTask
        fields = ["process", "status", "instance"]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_TASK_STATUSES)
        return queryset.filter(status=value)

    @property
    def qs(self):
        queryset = super().qs
        if not self.data.get("status"):
            queryset = queryset.filter(status__in=OPEN_TASK_STATUSES)
        return queryset


class InstanceFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(field_name="process_key")
    status = django_filters.ChoiceFilter(choices=InstanceStatus.choices)
    tracking_code = django_filters.CharFilter(field_name="tracking_code")

    class Meta:
        model = ProcessInstance
        fields = ["process", "status", "tracking_code"]
