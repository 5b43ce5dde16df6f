"""``manage.py setup_demo``: a demo agency, its staff and a citizen, with API tokens (embedded mode)."""

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from engine.agencies import default_agency, membership_set
from engine.models import Role

# username: (role, groups in the demo agency); None: a citizen, in no agency.
DEMO_USERS = {
    "analyst": (Role.ANALYST, []),
    "officer": (Role.OFFICER, ["Front Office", "Verifier"]),
    "supervisor": (Role.SUPERVISOR, ["Front Office", "Verifier"]),
    "manager": (Role.MANAGER, ["Head of Office"]),
    "citizen": None,
}


class Command(BaseCommand):
    help = "Create the demo agency and users (password = user name + '-demo'), deploy the library, print tokens."

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
        self.stdout.write(f"\nDemo agency: {agency.code} ({agency.name}).")
        self.stdout.write("Demo users (password: <name>-demo) and their API tokens:")
        for username, profile in DEMO_USERS.items():
            token, _ = Token.objects.get_or_create(user=user_model.objects.get(username=username))
            role = profile[0] if profile else "citizen"
            self.stdout.write(f"  {username:<10} {role:<10} {token.key}")
