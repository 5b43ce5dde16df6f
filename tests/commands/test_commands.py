"""Management commands: demo setup, deploying folders, sweeping timers."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from engine.models import HumanTask, Timer
from engine.services import instance_start
from processes.models import ProcessDefinition
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def test_setup_demo_creates_users_deploys_library_and_prints_tokens():
    """setup_demo makes the four demo users with tokens, deploys the library, and is safe to run twice."""
    out = StringIO()
    call_command("setup_demo", stdout=out)
    call_command("setup_demo", stdout=StringIO())
    printed = out.getvalue()
    for username in ("analyst", "officer", "manager", "citizen"):
        assert Token.objects.get(user__username=username).key in printed
    assert ProcessDefinition.objects.filter(key="permit_application").count() == 1


def test_import_designs_reports_each_file_and_a_summary():
    """import_designs deploys the valid files of a folder and names the rejected ones with a reason."""
    out = StringIO()
    call_command("import_designs", str(FIXTURES / "invalid"), stdout=out)
    printed = out.getvalue()
    assert "Summary: 0 deployed, 0 already deployed, 3 rejected of 3 file(s)." in printed
    assert "line 7" in printed and "import" in printed
    out = StringIO()
    call_command("import_designs", str(FIXTURES / "timers"), stdout=out)
    assert "Summary: 2 deployed" in out.getvalue()
    assert ProcessDefinition.objects.filter(key="timer_scenarios").exists()


def test_sweep_timers_fires_everything_overdue(analyst):
    """sweep_timers fires every overdue timer once and reports the count."""
    call_command("import_designs", str(FIXTURES / "timers"), stdout=StringIO())
    definition = ProcessDefinition.objects.get(key="timer_scenarios")
    for _ in range(3):
        instance_start(definition=definition, data={"reminders": 0}, actor=analyst)
    Timer.objects.filter(instance__isnull=False).update(due_at="2000-01-01T00:00:00Z")
    overdue = Timer.objects.filter(status="pending", due_at__lte=timezone.now()).count()
    assert overdue >= 3
    out = StringIO()
    call_command("sweep_timers", stdout=out)
    assert f"Fired {overdue} timer(s)." in out.getvalue()
    assert not Timer.objects.filter(status="pending", due_at__lte=timezone.now()).exists()
    assert HumanTask.objects.filter(element_id="review", status="ready").count() == 3
