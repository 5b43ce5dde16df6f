from django.contrib import admin

from .models import (
    Agency,
    AgencyCalendar,
    AgencyGroup,
    CalendarClosure,
    HistoryEvent,
    HumanTask,
    Membership,
    ProcessInstance,
    Timer,
)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "timezone"]
    search_fields = ["code", "name", "name_en"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "agency", "role"]
    list_filter = ["agency", "role"]


@admin.register(AgencyGroup)
class AgencyGroupAdmin(admin.ModelAdmin):
    list_display = ["group", "agency", "name"]
    list_filter = ["agency"]


# Calendars edited here are checked by the models' clean() and take effect at once (the cached calendars are
# keyed on what is stored); Django's admin log records the change, the API's services also write history.
@admin.register(AgencyCalendar)
class AgencyCalendarAdmin(admin.ModelAdmin):
    list_display = ["agency", "timezone", "working_weekdays", "hours", "weekday_hours", "collective_leave",
                    "updated_at"]
    list_filter = ["timezone", "collective_leave"]
    search_fields = ["agency__code", "agency__name"]
    readonly_fields = ["updated_at"]


@admin.register(CalendarClosure)
class CalendarClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "kind", "hours", "agency"]
    list_filter = ["kind", "agency"]
    search_fields = ["name", "agency__code"]
    date_hierarchy = "date"


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(admin.ModelAdmin):
    list_display = ["id", "process_key", "status", "tracking_code", "started_at"]
    list_filter = ["status", "process_key"]
    search_fields = ["tracking_code", "business_key"]
    readonly_fields = ["state", "data", "revision"]


@admin.register(HumanTask)
class HumanTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "process_key", "agency", "status", "assignee", "created_at", "due_at"]
    list_filter = ["status", "agency", "process_key"]


@admin.register(Timer)
class TimerAdmin(admin.ModelAdmin):
    list_display = ["id", "element_id", "kind", "timer_type", "due_at", "status", "fired_at"]
    list_filter = ["status", "kind"]


@admin.register(HistoryEvent)
class HistoryEventAdmin(admin.ModelAdmin):
    """History is append-only: the admin shows it and changes nothing."""

    list_display = ["occurred_at", "event_type", "actor_name", "instance", "element_id"]
    list_filter = ["event_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
