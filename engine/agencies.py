"""Agencies, roles and groups: who belongs where, and how lane and candidate names find groups."""

from django.conf import settings
from django.contrib.auth.models import Group

from .exceptions import PermissionDeniedError
from .models import Agency, AgencyGroup, Membership, Role
from .reference_data import pinned

# Lanes that stand for the citizen who applied; their tasks go to the instance's applicant.
APPLICANT_LANES = frozenset(
    name.casefold() for name in getattr(settings, "ENGINE_APPLICANT_LANES", ["Applicant", "Pemohon", "Citizen"])
)
STAFF_WHO_SEE_THE_WHOLE_AGENCY = (Role.SUPERVISOR, Role.MANAGER)
STAFF_WHO_WORK_TASKS = (Role.OFFICER, Role.SUPERVISOR)


def membership_of(user):
    """The user's membership (agency and role), or None for citizens and unattached users."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def agency_of(user):
    membership = membership_of(user)
    return membership.agency if membership else None


def has_role(user, *roles):
    membership = membership_of(user)
    return membership is not None and membership.role in roles


def require_analyst_of(actor, agency_id, *, doing):
    """Only analysts of the agency ``agency_id`` may do this; superusers and system commands (None) may."""
    if actor is None or actor.is_superuser:
        return
    membership = membership_of(actor)
    if membership is None or membership.role != Role.ANALYST:
        raise PermissionDeniedError(f"{actor.get_username()} is not a process analyst; only analysts {doing}.")
    if membership.agency_id != agency_id:
        raise PermissionDeniedError(f"{actor.get_username()} may {doing} only for {membership.agency.code}.")


def is_applicant_lane(lane):
    return bool(lane) and lane.strip().casefold() in APPLICANT_LANES


def agency_group(agency, name):
    """The Django group ``<agency code>/<name>``, created on first use (read once when reference data is pinned)."""
    name = name.strip()
    return pinned("agency_group", (agency.pk, name), lambda: _agency_group_read(agency, name))


def _agency_group_read(agency, name):
    link = AgencyGroup.objects.select_related("group").filter(agency=agency, name=name).first()
    if link is not None:
        return link.group
    group, _created = Group.objects.get_or_create(name=f"{agency.code}/{name}"[:150])
    AgencyGroup.objects.get_or_create(group=group, defaults={"agency": agency, "name": name})
    return group


def resolve_group(reference, default_agency):
    """A lane or candidate-group name as a group: ``code/Name`` names another agency's group."""
    reference = reference.strip()
    code, separator, name = reference.partition("/")
    if separator and name:
        code = code.strip()
        other = pinned("agency_by_code", code, lambda: Agency.objects.filter(code=code).first())
        if other is not None:
            return agency_group(other, name)
    return agency_group(default_agency, reference)


def membership_set(*, user, agency, role, groups=()):
    """Put ``user`` in ``agency`` with ``role`` and in the named groups of that agency (idempotent)."""
    Membership.objects.update_or_create(user=user, defaults={"agency": agency, "role": role})
    for name in groups:
        user.groups.add(agency_group(agency, name))
    return user.membership


def agency_ensure(code, *, name=None, name_en=""):
    """The agency with ``code``, created with ``name`` if it does not exist yet."""
    agency, _created = Agency.objects.get_or_create(code=code, defaults={"name": name or code, "name_en": name_en})
    return agency


def default_agency():
    """The agency bundled processes and designer imports belong to unless told otherwise."""
    return agency_ensure(settings.ENGINE_DEFAULT_AGENCY, name=settings.ENGINE_DEFAULT_AGENCY_NAME)
