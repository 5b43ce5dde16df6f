"""Citizen tracking: ``GET /api/v1/track/{code}/``, no login, rate-limited.

It says what a citizen needs to know and nothing more: the service, where the application is, since
when, and when it was promised. No process data, no names of people, no comments.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from engine.exceptions import InstanceNotFoundError
from engine.selectors import instance_tracking
from processes.step_texts import documents_of, lane_texts, process_texts, stage_texts

from .serializers import local_time

_STATUS_TEXT = {
    "running": {"id": "Sedang diproses", "en": "In progress"},
    "completed": {"id": "Selesai", "en": "Completed"},
    "cancelled": {"id": "Dibatalkan", "en": "Cancelled"},
    "error": {"id": "Sedang ditangani petugas", "en": "Being looked into by the office"},
}


class TrackingThrottle(AnonRateThrottle):
    """Per client address; the rate is ``REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['tracking']``."""

    scope = "tracking"

    def get_rate(self):
        # Read at request time (DRF reads it once at import), so the setting can change in tests.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]


def _stage(task, texts):
    """One open step: its name in both languages, who it waits for, since when; for the applicant's own
    steps, the documents the model says they need."""
    if task["for_applicant"]:
        waiting_for = {"id": "Anda (pemohon)", "en": "You (the applicant)"}
    else:
        waiting_for = lane_texts(texts, task["lane"]) or {"id": "Petugas", "en": "An officer"}
    name = stage_texts(texts, task["element_id"], task["name"])
    stage = {"name": name["id"], "name_en": name["en"], "waiting_for": waiting_for,
             "since": local_time(task["created_at"])}
    if task["for_applicant"]:
        stage["documents"] = documents_of(texts, task["element_id"])
    return stage


class TrackingView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TrackingThrottle]

    @extend_schema(
        responses=inline_serializer(
            "Tracking",
            {
                "tracking_code": serializers.CharField(),
                "service": serializers.DictField(),
                "status": serializers.CharField(),
                "status_text": serializers.DictField(),
                "current_stages": serializers.ListField(),
                "submitted_at": serializers.DateTimeField(),
                "last_updated_at": serializers.DateTimeField(),
                "completed_at": serializers.DateTimeField(allow_null=True),
                "promised_completion_at": serializers.DateTimeField(allow_null=True),
            },
        )
    )
    def get(self, request, code):
        tracking = instance_tracking(code)
        if tracking is None:
            raise InstanceNotFoundError("No application has this tracking code.")
        instance, open_tasks = tracking
        definition = instance.definition
        service = process_texts(definition.step_texts, definition.name)
        return Response(
            {
                "tracking_code": instance.tracking_code,
                "service": {"name": service["id"], "name_en": service["en"], "agency": definition.agency.name,
                            "agency_en": definition.agency.name_en or definition.agency.name},
                "status": instance.status,
                "status_text": _STATUS_TEXT[instance.status],
                "current_stages": [_stage(task, definition.step_texts) for task in open_tasks],
                "submitted_at": local_time(instance.started_at),
                "last_updated_at": local_time(instance.updated_at),
                "completed_at": local_time(instance.ended_at),
                "promised_completion_at": local_time(instance.promised_at),
            }
        )
