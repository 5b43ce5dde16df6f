"""``manage.py setup_demo``: demo users with their groups and API tokens, for the embedded mode."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

DEMO_USERS = {
    "analyst": {"groups": ["Analysts"], "staff": False},
    "officer": {"groups": ["Front Office", "Verifier"], "staff": False},
    "manager": {"groups": ["Head of Office"], "staff": True},
    "citizen": {"groups": ["Applicant"], "staff": False},
}


class Command(BaseCommand):
    help = "Create the demo users (password = user name + '-demo'), deploy the library, print the tokens."

    def handle(self, *args, **options):
        analysts, _ = Group.objects.get_or_create(name="Analysts")
        analysts.permissions.add(Permission.objects.get(codename="add_processdefinition"))
        user_model = get_user_model()
        for username, profile in DEMO_USERS.items():
            user, created = user_model.objects.get_or_create(username=username)
            if created:
                user.set_password(f"{username}-demo")
            user.is_staff = profile["staff"]
            user.save()
            for group_name in profile["groups"]:
                user.groups.add(Group.objects.get_or_create(name=group_name)[0])
        call_command("deploy_library", stdout=self.stdout)
        self.stdout.write("\nDemo users (password: <name>-demo) and their API tokens:")
        for username in DEMO_USERS:
            token, _ = Token.objects.get_or_create(user=user_model.objects.get(username=username))
            self.stdout.write(f"  {username:<8} {token.key}")
