"""Serializers shape data in and out; they hold no business logic."""

from django.utils import timezone
from rest_framework import serializers

from engine.forms import task_form
from engine.models import OPEN_TASK_STATUSES, HistoryEvent, HumanTask, Notification, ProcessInstance, Timer
from engine.selectors import instance_clock
from processes.models import ProcessDefinition
from processes.selectors import definition_catalog
from processes.step_texts import process_texts

from .step_text_fields import StepTextsMixin


class DefinitionSerializer(serializers.ModelSerializer):
    deployed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    agency = serializers.SlugRelatedField(slug_field="code", read_only=True)
    name_en = serializers.SerializerMethodField(help_text="English name (the model's name_en, else name).")

    class Meta:
        model = ProcessDefinition
        fields = ["id", "key", "version", "name", "name_en", "agency", "sha256", "filename", "deployed_by",
                  "deployed_at"]

    def get_name_en(self, definition) -> str:
        return process_texts(definition.step_texts, definition.name)["en"]


class DefinitionUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A BPMN 2.0 XML file as a modeling tool exports it.")
    forms = serializers.ListField(
        child=serializers.FileField(), required=False, default=list,
        help_text="JSON Schema form files, matched by file name: <element id>.json (and <element id>.uischema.json)"
        ", or the files SpiffArena's formJsonSchemaFilename / formUiSchemaFilename properties name.",
    )
    decisions = serializers.ListField(
        child=serializers.FileField(), required=False, default=list,
        help_text="DMN files (.dmn) whose decisions the process's business rule tasks call.",
    )
    agency = serializers.CharField(
        required=False, help_text="Agency code; only superusers choose, analysts deploy for their own agency."
    )


def local_time(moment):
    """A datetime as the API writes them everywhere (ISO 8601 in the server's time zone), or None."""
    return serializers.DateTimeField().to_representation(moment) if moment is not None else None


class TaskSummarySerializer(StepTextsMixin, serializers.ModelSerializer):
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = HumanTask
        fields = ["id", "element_id", "name", "name_en", "lane", "lane_en", "status", "assignee", "created_at",
                  "due_at", "follow_up_at"]


class TimerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Timer
        fields = ["id", "element_id", "kind", "timer_type", "expression", "due_at", "status", "fired_at"]


class InstanceSerializer(serializers.ModelSerializer):
    process = serializers.CharField(source="process_key", read_only=True)
    version = serializers.IntegerField(source="definition.version", read_only=True)
    definition_id = serializers.IntegerField(read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = ProcessInstance
        fields = [
            "id", "process", "version", "definition_id", "status", "tracking_code", "business_key", "data",
            "error", "started_by", "started_at", "updated_at", "ended_at",
        ]

    def get_error(self, instance) -> dict | None:
        if not instance.error_message:
            return None
        return {"message": instance.error_message, "element_id": instance.error_element_id or None}


class InstanceDetailSerializer(InstanceSerializer):
    open_tasks = serializers.SerializerMethodField()
    pending_timers = serializers.SerializerMethodField()
    service_level = serializers.SerializerMethodField()

    class Meta(InstanceSerializer.Meta):
        fields = InstanceSerializer.Meta.fields + ["open_tasks", "pending_timers", "service_level"]

    def get_service_level(self, instance) -> dict:
        """Promised date, elapsed and counted working time (the clock stops while the applicant is asked)."""
        clock = instance_clock(instance)
        clock["promised_at"] = local_time(clock["promised_at"])
        return clock

    def get_open_tasks(self, instance) -> list[dict]:
        tasks = instance.human_tasks.filter(status__in=["ready", "claimed"]).select_related("assignee")
        return TaskSummarySerializer(tasks, many=True).data

    def get_pending_timers(self, instance) -> list[dict]:
        return TimerSerializer(instance.timers.filter(status="pending").order_by("due_at"), many=True).data


class InstanceStartSerializer(serializers.Serializer):
    process = serializers.CharField(help_text="The BPMN process id (definition key); the newest version starts.")
    data = serializers.JSONField(required=False, default=dict)
    business_key = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    applicant = serializers.CharField(
        required=False, allow_blank=True, help_text="Username of the citizen who applies (default: the caller, "
        "when the caller is a citizen)."
    )

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("data must be a JSON object.")
        return value


class HumanTaskSerializer(StepTextsMixin, serializers.ModelSerializer):
    process = serializers.CharField(source="process_key", read_only=True)
    instance_id = serializers.IntegerField(read_only=True)
    tracking_code = serializers.CharField(source="instance.tracking_code", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    completed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    agency = serializers.SlugRelatedField(slug_field="code", read_only=True)
    candidate_groups = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    data = serializers.JSONField(source="instance.data", read_only=True)
    form = serializers.SerializerMethodField(help_text='{"schema": JSON Schema, "ui_schema": {...} | null}, or null.')
    is_overdue = serializers.SerializerMethodField(help_text="Open and past its due date.")

    class Meta:
        model = HumanTask
        fields = [
            "id", "process", "agency", "instance_id", "tracking_code", "element_id", "name", "name_en", "documentation",
            "lane", "lane_en", "documents", "status", "assignee", "owner", "delegation_state", "candidate_groups",
            "priority", "due_at", "follow_up_at", "is_overdue", "overdue_at", "created_at", "claimed_at",
            "completed_at", "completed_by", "draft_data", "completion_data", "data", "form",
        ]

    def get_is_overdue(self, task) -> bool:
        if task.status not in OPEN_TASK_STATUSES:
            return False
        return task.overdue_at is not None or (task.due_at is not None and task.due_at < timezone.now())

    def get_form(self, task) -> dict | None:
        # One catalog read per definition for a whole page of tasks: the context is shared by the page.
        catalogs = self.context.setdefault("element_catalogs", {})
        definition_id = task.instance.definition_id
        if definition_id not in catalogs:
            catalogs[definition_id] = definition_catalog(definition_id)
        return task_form(catalogs[definition_id], task.element_id)


class TaskCompleteSerializer(serializers.Serializer):
    data = serializers.JSONField(required=False, default=dict)

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("data must be a JSON object.")
        return value


class TaskUserSerializer(serializers.Serializer):
    user = serializers.CharField(allow_null=True, help_text="Username (null: nobody).")


class HistoryEventSerializer(serializers.ModelSerializer):
    task_id = serializers.IntegerField(source="human_task_id", read_only=True)
    actor = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = HistoryEvent
        fields = ["id", "event_type", "occurred_at", "actor", "element_id", "task_id", "details"]


class NotificationSerializer(serializers.ModelSerializer):
    task_id = serializers.IntegerField(source="human_task_id", read_only=True)
    tracking_code = serializers.CharField(source="instance.tracking_code", read_only=True, default=None)

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "task_id", "instance_id", "tracking_code", "created_at", "read_at"]
