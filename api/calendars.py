"""Agencies' business calendars (API v1).

- ``GET calendars/``: the caller's agency's calendar settings (superusers: every agency's); ``?agency=code``
  names one. Paginated like the other lists.
- ``GET/PATCH calendars/{code}/``: the settings: ``timezone``, ``working_weekdays`` (0 = Monday), ``hours``
  (``"08:00-16:00"``, or ``"08:00-12:00, 13:00-16:00"`` with a break), ``weekday_hours``
  (``{"4": "08:00-16:30"}``) and ``collective_leave`` (closed on cuti bersama).
- ``GET/POST calendars/{code}/closures/`` (``?year=2026`` or ``?from=2026-08-01&to=2026-08-31``):
  ``{"date", "name", "kind": "regional_holiday"|"agency_closure", "hours": ""}``; blank ``hours`` closes
  the whole day, otherwise the office opens only then. ``GET/DELETE calendars/{code}/closures/{id}/``.
- ``GET calendars/{code}/working-days/?start=2026-08-14T14:00:00%2B07:00&days=5`` (or ``&duration=P1DT4H``):
  ``{"start", "days", "due_at", "timezone"}``, the deadline of "5 hari kerja" from ``start`` (a start without
  an offset is read in the agency's zone; moments are answered in it). ``?from=2026-08-01&to=2026-08-31``:
  ``{"from", "to", "timezone", "working_days", "closed_days": [{"date", "name"}], "shortened_days"}``.

Anyone signed in may read any agency's calendar (calendars are public information); only the agency's
supervisors and managers, and superusers, may change it (403 otherwise).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from engine import calendar_selectors as selectors
from engine.calendars.for_agency import calendar_for_agency
from engine.models import AgencyCalendar, CalendarClosure, ClosureKind
from engine.services.calendars import CALENDAR_SETTINGS, calendar_update, closure_add, closure_remove

MAX_RANGE_DAYS = 366
MAX_DEADLINE_DAYS = 365


class AgencyCalendarSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    is_default = serializers.SerializerMethodField(help_text="True while the agency has kept the defaults.")

    class Meta:
        model = AgencyCalendar
        fields = [
            "agency", "agency_name", "timezone", "working_weekdays", "hours", "weekday_hours", "collective_leave",
            "is_default", "updated_at",
        ]

    def get_is_default(self, calendar) -> bool:
        return calendar.pk is None


class AgencyCalendarUpdateSerializer(serializers.Serializer):
    """Types only: whether the values make a calendar is the engine's to judge (CalendarInvalidError)."""

    timezone = serializers.CharField(required=False, max_length=64)
    working_weekdays = serializers.ListField(child=serializers.IntegerField(), required=False)
    hours = serializers.CharField(required=False, max_length=255)
    weekday_hours = serializers.DictField(child=serializers.CharField(max_length=255), required=False)
    collective_leave = serializers.BooleanField(required=False)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(CALENDAR_SETTINGS))
        if unknown:
            raise ValidationError({name: ["Not a calendar setting."] for name in unknown})
        return attrs


class ClosureSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code", read_only=True)
    whole_day = serializers.BooleanField(source="is_whole_day", read_only=True)

    class Meta:
        model = CalendarClosure
        fields = ["id", "agency", "date", "name", "kind", "hours", "whole_day", "created_at", "updated_at"]


class ClosureWriteSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The agency's local date, e.g. 2026-08-18.")
    name = serializers.CharField(max_length=255, help_text="Why, e.g. Hari Raya Galungan.")
    kind = serializers.ChoiceField(choices=ClosureKind.choices, default=ClosureKind.AGENCY_CLOSURE)
    hours = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Blank: closed all day; else e.g. 08:00-12:00."
    )


def _agency(code):
    agency = selectors.agency_by_code(code)
    if agency is None:
        raise NotFound(f"There is no agency '{code}'.")
    return agency


def _query_date(request, name, required=True):
    text = request.query_params.get(name, "").strip()
    if not text:
        if required:
            raise ValidationError({name: ["This parameter is required, e.g. 2026-08-01."]})
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError({name: [f"{text!r} is not a date such as 2026-08-01."]})


def _query_range(request):
    first, last = _query_date(request, "from"), _query_date(request, "to")
    if last < first:
        raise ValidationError({"to": ["to must not be before from."]})
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError({"to": [f"Ask for at most {MAX_RANGE_DAYS} days at a time."]})
    return first, last


def _query_moment(request, name, zone):
    # A "+" left unencoded in a query string arrives as a space: "14:00:00 07:00" means "14:00:00+07:00".
    text = request.query_params.get(name, "").strip()
    if "T" in text and " " in text:
        text = text.replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError({name: [f"{text!r} is not a date-time such as 2026-08-14T14:00:00+07:00."]})
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _query_days(request):
    text = request.query_params.get("days", "").strip()
    if not text.isdigit() or int(text) > MAX_DEADLINE_DAYS:
        raise ValidationError({"days": [f"A whole number of working days from 0 to {MAX_DEADLINE_DAYS}."]})
    return int(text)


class CalendarListView(generics.ListAPIView):
    serializer_class = AgencyCalendarSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AgencyCalendar.objects.none()
        agency_code = self.request.query_params.get("agency", "").strip() or None
        return selectors.agency_calendar_list_for_user(self.request.user, agency_code=agency_code)

    @extend_schema(parameters=[OpenApiParameter("agency", str, description="An agency's code.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CalendarDetailView(generics.GenericAPIView):
    serializer_class = AgencyCalendarSerializer
    filter_backends = []

    def get(self, request, agency_code):
        agency = _agency(agency_code)
        return Response(self.get_serializer(selectors.agency_calendar_settings(agency)).data)

    @extend_schema(
        request=AgencyCalendarUpdateSerializer,
        responses={
            200: AgencyCalendarSerializer,
            400: OpenApiResponse(description="Unknown settings, or values no calendar can have."),
            403: OpenApiResponse(description="Only the agency's supervisors and managers may change it."),
        },
    )
    def patch(self, request, agency_code):
        agency = _agency(agency_code)
        body = AgencyCalendarUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        calendar = calendar_update(agency=agency, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(calendar).data)


class ClosureListView(generics.ListCreateAPIView):
    serializer_class = ClosureSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return CalendarClosure.objects.none()
        agency = _agency(self.kwargs["agency_code"])
        first, last = _query_date(self.request, "from", required=False), _query_date(self.request, "to", required=False)
        year = self.request.query_params.get("year", "").strip()
        if year:
            if not year.isdigit() or not 1 <= int(year) <= 9999:
                raise ValidationError({"year": [f"{year!r} is not a year."]})
            first, last = date(int(year), 1, 1), date(int(year), 12, 31)
        return selectors.calendar_closure_list(agency, first=first, last=last)

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description="Closures of one year."),
            OpenApiParameter("from", date, description="First date."),
            OpenApiParameter("to", date, description="Last date."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ClosureWriteSerializer,
        responses={
            201: ClosureSerializer,
            400: OpenApiResponse(description="A bad date, name, kind or hours."),
            403: OpenApiResponse(description="Only the agency's supervisors and managers may change it."),
            409: OpenApiResponse(description="The date already has a closure."),
        },
    )
    def post(self, request, agency_code):
        agency = _agency(agency_code)
        body = ClosureWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        closure = closure_add(agency=agency, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(closure).data, status=status.HTTP_201_CREATED)


class ClosureDetailView(generics.GenericAPIView):
    serializer_class = ClosureSerializer
    filter_backends = []

    def get(self, request, agency_code, closure_id):
        agency = _agency(agency_code)
        closure = selectors.calendar_closure_list(agency).filter(pk=closure_id).first()
        if closure is None:
            raise NotFound(f"The calendar of {agency.code} has no closure {closure_id}.")
        return Response(self.get_serializer(closure).data)

    @extend_schema(responses={204: None, 403: OpenApiResponse(description="Not allowed."), 404: None})
    def delete(self, request, agency_code, closure_id):
        closure_remove(agency=_agency(agency_code), actor=request.user, closure_id=int(closure_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


_DEADLINE = inline_serializer(
    "WorkingDaysDeadline",
    {
        "start": serializers.DateTimeField(),
        "days": serializers.IntegerField(required=False),
        "duration": serializers.CharField(required=False),
        "due_at": serializers.DateTimeField(),
        "timezone": serializers.CharField(),
    },
)


class WorkingDaysView(generics.GenericAPIView):
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter("start", datetime, description="Receipt, e.g. 2026-08-14T14:00:00+07:00 (+ as %2B)."),
            OpenApiParameter("days", int, description="Working days to count (hari kerja)."),
            OpenApiParameter("duration", str, description="Or a business duration: P5D, PT4H, P1DT4H."),
            OpenApiParameter("from", date, description="First date of a range to list (with to)."),
            OpenApiParameter("to", date, description="Last date of the range, at most 366 days."),
        ],
        responses={200: _DEADLINE, 400: OpenApiResponse(description="Bad parameters, or outside covered years.")},
    )
    def get(self, request, agency_code):
        agency = _agency(agency_code)
        if "start" in request.query_params:
            return Response(self._deadline(request, agency))
        if "from" in request.query_params or "to" in request.query_params:
            return Response(self._days(request, agency))
        raise ValidationError({"start": ["Give start with days (or duration), or from and to."]})

    def _deadline(self, request, agency):
        calendar = calendar_for_agency(agency)
        zone = ZoneInfo(calendar.timezone)
        start = _query_moment(request, "start", zone)
        duration = request.query_params.get("duration", "").strip()
        if duration and "days" not in request.query_params:
            due_at, counted = calendar.add_business_duration(start, duration), {"duration": duration}
        else:
            days = _query_days(request)
            due_at, counted = calendar.add_working_days(start, days), {"days": days}
        return {
            "start": start.astimezone(zone).isoformat(),
            **counted,
            "due_at": due_at.astimezone(zone).isoformat(),
            "timezone": calendar.timezone,
        }

    def _days(self, request, agency):
        first, last = _query_range(request)
        days = selectors.calendar_days(agency, first=first, last=last)
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "timezone": days["timezone"],
            "working_days": [day.isoformat() for day in days["working_days"]],
            "closed_days": [{**item, "date": item["date"].isoformat()} for item in days["closed_days"]],
            "shortened_days": [{**item, "date": item["date"].isoformat()} for item in days["shortened_days"]],
        }


_AGENCY = r"(?P<agency_code>[-a-zA-Z0-9_]+)"

urlpatterns = [
    re_path(r"^calendars/?$", CalendarListView.as_view(), name="calendar-list"),
    re_path(rf"^calendars/{_AGENCY}/?$", CalendarDetailView.as_view(), name="calendar-detail"),
    re_path(rf"^calendars/{_AGENCY}/closures/?$", ClosureListView.as_view(), name="calendar-closure-list"),
    re_path(
        rf"^calendars/{_AGENCY}/closures/(?P<closure_id>[0-9]+)/?$",
        ClosureDetailView.as_view(),
        name="calendar-closure-detail",
    ),
    re_path(rf"^calendars/{_AGENCY}/working-days/?$", WorkingDaysView.as_view(), name="calendar-working-days"),
]
