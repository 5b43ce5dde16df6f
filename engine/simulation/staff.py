"""The simulated people: officers in the agency's groups and a pool of citizens who apply.

Usernames are stable (``sim.front-office.1``, ``sim.warga.0001``) so a second run reuses them; they have
no usable password, so nobody can log in as them.
"""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from engine.agencies import agency_group, membership_set
from engine.models import Role

CITIZEN_PREFIX = "sim.warga."


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "group"


def _user(username):
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def officers_ensure(agency, staff):
    """``{group id: [officer, ...]}`` for ``staff`` (``{group name: count}``), one group per officer."""
    pools = {}
    for name in sorted(staff):
        group = agency_group(agency, name)
        officers = []
        for number in range(1, staff[name] + 1):
            officer = _user(f"sim.{slug(name)}.{number}")
            membership_set(user=officer, agency=agency, role=Role.OFFICER, groups=[name])
            officers.append(officer)
        pools[group.pk] = officers
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
