"""Analytics for managers (API v1, under ``analytics/``): where applications wait, why, and what a
redesign would save.

Every report takes the same filters: ``process`` (key), ``version``, ``agency`` (code), ``from`` and ``to``
(ISO 8601 date or date-time, UTC when no offset; ``to`` is exclusive) and ``as_of`` (the report time for
open work, default now). The agency's managers, supervisors and process analysts see their agency's
analytics (naming another agency: 403); superusers see every agency's, or one's with ``agency``;
officers and citizens: 403; anonymous: 401.
"""

from datetime import UTC, date, datetime, time

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import re_path
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.agencies import membership_of
from engine.analytics import dfg, elements, export, flow, instances, pictures
from engine.analytics.scope import Scope
from engine.models import Agency, Role

ANALYTICS_ROLES = (Role.MANAGER, Role.SUPERVISOR, Role.ANALYST)

FILTERS = [
    OpenApiParameter("process", str, description="Process key."),
    OpenApiParameter("version", int, description="Definition version (with process)."),
    OpenApiParameter("agency", str, description="Agency code (superusers; others may name only their own)."),
    OpenApiParameter("from", str, description="From this date or date-time (inclusive)."),
    OpenApiParameter("to", str, description="Up to this date or date-time (exclusive)."),
    OpenApiParameter("as_of", str, description="Report time for open work (default: now)."),
]


def _moment(request, name):
    raw = request.query_params.get(name)
    if not raw:
        return None
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise ValidationError({name: [f"'{raw}' is not an ISO 8601 date or date-time."]})
        moment = datetime.combine(day, time.min)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _agency_ids(request):
    user = request.user
    code = request.query_params.get("agency")
    if user.is_superuser:
        if not code:
            return None
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            raise NotFound(f"There is no agency '{code}'.")
        return (agency.pk,)
    membership = membership_of(user)
    if membership is None or membership.role not in ANALYTICS_ROLES:
        raise PermissionDenied("Analytics are for the agency's managers, supervisors and process analysts.")
    if code and code != membership.agency.code:
        raise PermissionDenied("You may see only your own agency's analytics.")
    return (membership.agency_id,)


def scope_from_request(request) -> Scope:
    agency_ids = _agency_ids(request)
    version = request.query_params.get("version")
    if version is not None:
        if not version.isdigit():
            raise ValidationError({"version": ["A version is a whole number."]})
        version = int(version)
    values = {"agency_ids": agency_ids, "process_key": request.query_params.get("process") or None,
              "version": version, "date_from": _moment(request, "from"), "date_to": _moment(request, "to")}
    as_of = _moment(request, "as_of")
    if as_of is not None:
        values["as_of"] = as_of
    return Scope(**values)


class _Report(APIView):
    report = None

    @extend_schema(parameters=FILTERS, responses={200: OpenApiResponse(description="The report as JSON.")})
    def get(self, request):
        scope = scope_from_request(request)
        return Response({"filters": _echo(scope), **self.build(scope)})

    def build(self, scope):
        result = type(self).report(scope)
        return result if isinstance(result, dict) else {"results": result}


def _echo(scope: Scope) -> dict:
    def iso(moment):
        return moment.isoformat() if moment else None

    return {"process": scope.process_key, "version": scope.version, "from": iso(scope.date_from),
            "to": iso(scope.date_to), "as_of": iso(scope.as_of)}


class CycleTimeView(_Report):
    report = instances.cycle_time_report


class ThroughputView(_Report):
    report = instances.throughput_report


class BottleneckView(_Report):
    report = elements.bottleneck_report


class ServiceLevelView(_Report):
    def build(self, scope):
        return {"processes": instances.process_service_level_report(scope),
                "tasks": elements.task_service_level_report(scope)}


class ReworkView(_Report):
    report = elements.rework_report


class VariantView(_Report):
    report = flow.variants_report


class HandoffView(_Report):
    report = flow.handoff_report


class WorkloadView(_Report):
    report = flow.workload_report


class DfgView(_Report):
    report = dfg.dfg_report


CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


class HeatmapView(APIView):
    """The process diagram coloured by median waiting time; needs ``process`` (newest version unless ``version``)."""

    @extend_schema(parameters=FILTERS, responses={(200, "image/svg+xml"): OpenApiResponse(description="Heatmap")})
    def get(self, request, image_format):
        scope = scope_from_request(request)
        if scope.process_key is None:
            raise ValidationError({"process": ["Name the process to draw."]})
        definition = scope.definitions().order_by("-version").first()
        if definition is None:
            raise NotFound(f"There is no process '{scope.process_key}' you may see.")
        image = pictures.heatmap(definition, elements.bottleneck_report(scope), image_format)
        return HttpResponse(image, content_type=CONTENT_TYPES[image_format])


class DfgPictureView(APIView):
    @extend_schema(parameters=FILTERS, responses={(200, "image/svg+xml"): OpenApiResponse(description="DFG")})
    def get(self, request, image_format):
        scope = scope_from_request(request)
        image = pictures.dfg_picture(dfg.dfg_report(scope), image_format)
        return HttpResponse(image, content_type=CONTENT_TYPES[image_format])


class EventLogView(APIView):
    """The event log as XES or CSV, streamed; ``pseudonymise=1`` replaces people with keyed hashes."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("pseudonymise", bool)],
                   responses={(200, "application/xml"): OpenApiResponse(description="XES or CSV")})
    def get(self, request, log_format):
        scope = scope_from_request(request)
        pseudonymise = request.query_params.get("pseudonymise", "").lower() in ("1", "true", "yes")
        stamp = date.today().isoformat()
        if log_format == "xes":
            response = StreamingHttpResponse(export.xes_stream(scope, pseudonymise=pseudonymise),
                                             content_type="application/xml; charset=utf-8")
        else:
            response = StreamingHttpResponse(export.csv_stream(scope, pseudonymise=pseudonymise),
                                             content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="event-log-{stamp}.{log_format}"'
        return response


urlpatterns = [
    re_path(r"^analytics/cycle-time/?$", CycleTimeView.as_view(), name="analytics-cycle-time"),
    re_path(r"^analytics/throughput/?$", ThroughputView.as_view(), name="analytics-throughput"),
    re_path(r"^analytics/bottlenecks/?$", BottleneckView.as_view(), name="analytics-bottlenecks"),
    re_path(r"^analytics/service-levels/?$", ServiceLevelView.as_view(), name="analytics-service-levels"),
    re_path(r"^analytics/rework/?$", ReworkView.as_view(), name="analytics-rework"),
    re_path(r"^analytics/variants/?$", VariantView.as_view(), name="analytics-variants"),
    re_path(r"^analytics/handoffs/?$", HandoffView.as_view(), name="analytics-handoffs"),
    re_path(r"^analytics/workload/?$", WorkloadView.as_view(), name="analytics-workload"),
    re_path(r"^analytics/dfg/?$", DfgView.as_view(), name="analytics-dfg"),
    re_path(r"^analytics/dfg\.(?P<image_format>svg|png)$", DfgPictureView.as_view(), name="analytics-dfg-picture"),
    re_path(r"^analytics/heatmap\.(?P<image_format>svg|png)$", HeatmapView.as_view(), name="analytics-heatmap"),
    re_path(r"^analytics/event-log\.(?P<log_format>xes|csv)$", EventLogView.as_view(), name="analytics-event-log"),
]
