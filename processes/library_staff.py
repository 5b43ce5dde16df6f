"""The staff the bundled public-service processes need: one set of demo users per agency.

Each lane of a bundled process is a group of the agency that owns the process (or, written
``code/Group``, of a partner agency). ``setup_demo`` creates these users so that every lane has
someone to work it; the password of each is ``<username>-demo``. ``processes/library/README.md`` lists
them with the lanes they work.
"""

from django.contrib.auth import get_user_model

from engine.agencies import agency_ensure, membership_set
from engine.models import Role

# agency code: {username: (role, groups of that agency)}. Heads of office are managers in the lane's
# group: they watch the whole agency and work only the tasks offered to them.
LIBRARY_STAFF = {
    "disdukcapil": {
        "capil_loket": (Role.OFFICER, ["Petugas Loket"]),
        "capil_verifikator": (Role.OFFICER, ["Verifikator"]),
        "capil_supervisor": (Role.SUPERVISOR, ["Petugas Loket", "Verifikator"]),
        "capil_kepala": (Role.MANAGER, ["Kepala Dinas"]),
    },
    "dpmptsp": {
        "ptsp_loket": (Role.OFFICER, ["Petugas Loket"]),
        "ptsp_verifikator": (Role.OFFICER, ["Verifikator"]),
        "ptsp_supervisor": (Role.SUPERVISOR, ["Petugas Loket", "Verifikator"]),
        "ptsp_kepala": (Role.MANAGER, ["Kepala Dinas"]),
    },
    "disperindag": {
        "perindag_verifikator": (Role.OFFICER, ["Verifikator Teknis"]),
        "perindag_pengawas": (Role.OFFICER, ["Verifikator Teknis"]),
    },
    "dpupr": {
        "pupr_loket": (Role.OFFICER, ["Petugas Loket"]),
        "pupr_verifikator": (Role.OFFICER, ["Verifikator"]),
        "pupr_tpa_arsitektur": (Role.OFFICER, ["Tim Profesi Ahli"]),
        "pupr_tpa_struktur": (Role.OFFICER, ["Tim Profesi Ahli"]),
        "pupr_kepala": (Role.MANAGER, ["Kepala Dinas"]),
    },
}


def library_staff_ensure(*, password_suffix="-demo"):
    """Create (or bring back in line) the staff of every agency in ``LIBRARY_STAFF``; returns
    ``[(username, role, agency code)]``. New users get the password ``<username><password_suffix>``."""
    user_model = get_user_model()
    created_staff = []
    for code, staff in LIBRARY_STAFF.items():
        agency = agency_ensure(code)
        for username, (role, groups) in staff.items():
            user, created = user_model.objects.get_or_create(username=username)
            if created:
                user.set_password(f"{username}{password_suffix}")
                user.save()
            membership_set(user=user, agency=agency, role=role, groups=groups)
            created_staff.append((username, role, code))
    return created_staff
