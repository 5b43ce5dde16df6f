"""The simulated people: officers in the agencies' groups and a pool of citizens who apply.

Usernames are stable (``sim.disdukcapil.verifikator.1``, ``sim.warga.0001``) so a second run reuses them;
they have no usable password, so nobody can log in as them.
"""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from engine.agencies import agency_group, membership_set
from engine.models import Agency, Role

CITIZEN_PREFIX = "sim.warga."


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "group"


def group_home(reference, agency):
    """``(agency, group name)`` of a staff entry: ``Name`` in ``agency``, or ``code/Name`` in another one."""
    code, separator, name = reference.strip().partition("/")
    if separator and name:
        other = Agency.objects.filter(code=code.strip()).first()
        if other is not None:
            return other, name.strip()
    return agency, reference.strip()


def officers_ensure(staff):
    """``{group id: (agency, [officer, ...])}`` for ``staff``: ``{(agency, group name): count}``."""
    user_model = get_user_model()
    pools = {}
    for (agency, name), count in sorted(staff.items(), key=lambda item: (item[0][0].code, item[0][1])):
        group = agency_group(agency, name)
        officers = []
        for number in range(1, count + 1):
            officer, created = user_model.objects.get_or_create(username=f"sim.{agency.code}.{slug(name)}.{number}")
            if created:
                officer.set_unusable_password()
                officer.save(update_fields=["password"])
            membership_set(user=officer, agency=agency, role=Role.OFFICER, groups=[name])
            officers.append(officer)
        pools[group.pk] = (agency, officers)
    return pools


def citizens_ensure(count):
    """``count`` citizens (no agency membership), in a stable order; the missing ones are made at once."""
    user_model = get_user_model()
    names = [f"{CITIZEN_PREFIX}{number:04d}" for number in range(1, count + 1)]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    unusable = make_password(None)
    user_model.objects.bulk_create(
        [user_model(username=name, password=unusable) for name in names if name not in existing]
    )
    found = {user.username: user for user in user_model.objects.filter(username__in=names)}
    return [found[name] for name in names]
