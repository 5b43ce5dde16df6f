"""``manage.py setup_demo``: demo agencies, their staff and a citizen, with API tokens (embedded mode)."""

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from engine.agencies import default_agency, membership_set
from engine.models import Role
from processes.library_staff import library_staff_ensure
from processes.models import ProcessDefinition

# username: (role, groups in the demo agency); None: a citizen, in no agency.
DEMO_USERS = {
    "analyst": (Role.ANALYST, []),
    "officer": (Role.OFFICER, ["Front Office", "Verifier"]),
    "supervisor": (Role.SUPERVISOR, ["Front Office", "Verifier"]),
    "manager": (Role.MANAGER, ["Head of Office"]),
    "citizen": None,
}


class Command(BaseCommand):
    help = (
        "Create the demo agency and users, deploy the library (with its agencies and their staff), print "
        "tokens. Password = user name + '-demo'."
    )

    def handle(self, *args, **options):
        agency = default_agency()
        user_model = get_user_model()
        for username, profile in DEMO_USERS.items():
            user, created = user_model.objects.get_or_create(username=username)
            if created:
                user.set_password(f"{username}-demo")
                user.save()
            if profile is not None:
                role, groups = profile
                membership_set(user=user, agency=agency, role=role, groups=groups)
        call_command("deploy_library", stdout=self.stdout)
        staff = library_staff_ensure()
        self.stdout.write(f"\nDemo agency: {agency.code} ({agency.name}).")
        self.stdout.write("Services (process key, agency):")
        for definition in ProcessDefinition.objects.filter(pk__in=_newest_versions()).select_related("agency"):
            self.stdout.write(f"  {definition.key:<28} {definition.agency.code:<12} {definition.name}")
        self.stdout.write("Demo users (password: <name>-demo) and their API tokens:")
        for username, profile in DEMO_USERS.items():
            token, _ = Token.objects.get_or_create(user=user_model.objects.get(username=username))
            role = profile[0] if profile else "citizen"
            self.stdout.write(f"  {username:<22} {role:<10} {'':<12} {token.key}")
        for username, role, code in staff:
            token, _ = Token.objects.get_or_create(user=user_model.objects.get(username=username))
            self.stdout.write(f"  {username:<22} {role:<10} {code:<12} {token.key}")


def _newest_versions():
    newest = {}
    for pk, key, version in ProcessDefinition.objects.values_list("pk", "key", "version"):
        if key not in newest or version > newest[key][1]:
            newest[key] = (pk, version)
    return [pk for pk, _version in newest.values()]
