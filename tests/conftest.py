"""Shared fixtures: users in their groups, authenticated API clients, and deploying fixture files."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from engine.agencies import agency_ensure, membership_set
from engine.models import Role
from engine.spiff.specs import SPEC_CACHE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bpmn"
LIBRARY = ROOT / "processes" / "library"


# The smallest PDF the document checks accept.
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def fixture_bytes(relative):
    return (FIXTURES / relative).read_bytes()


def library_bytes(relative):
    return (LIBRARY / relative).read_bytes()


@pytest.fixture(autouse=True)
def _fresh_spec_cache():
    SPEC_CACHE.clear()
    yield
    SPEC_CACHE.clear()


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded documents go to a temporary folder of the test's."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def agency(db):
    return agency_ensure("demo", name="Kantor Pelayanan Demo")


@pytest.fixture
def other_agency(db):
    return agency_ensure("other", name="Dinas Lain")


def make_user(username, agency=None, role=Role.OFFICER, groups=()):
    """A user; with an agency, a member of it with ``role`` and in its named groups."""
    user = User.objects.create_user(username=username, password=f"{username}-pw")
    if agency is not None:
        membership_set(user=user, agency=agency, role=role, groups=groups)
    return user


@pytest.fixture
def analyst(agency):
    return make_user("analyst", agency, Role.ANALYST)


@pytest.fixture
def officer(agency):
    return make_user("officer", agency, Role.OFFICER, ["Front Office", "Verifier", "Clerks"])


@pytest.fixture
def second_officer(agency):
    return make_user("second_officer", agency, Role.OFFICER, ["Front Office", "Verifier", "Clerks"])


@pytest.fixture
def supervisor(agency):
    return make_user("supervisor", agency, Role.SUPERVISOR, ["Front Office"])


@pytest.fixture
def manager(agency):
    return make_user("manager", agency, Role.MANAGER)


@pytest.fixture
def head(agency):
    return make_user("head", agency, Role.OFFICER, ["Head of Office"])


@pytest.fixture
def applicant(db):
    """A citizen: no agency; the applicant of the instances they start."""
    return make_user("applicant")


@pytest.fixture
def outsider(other_agency):
    return make_user("outsider", other_agency, Role.OFFICER, ["Front Office", "Verifier"])


def client_for(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def permit(analyst):
    """The bundled permit process, deployed by the analyst of the default agency."""
    from processes.services import definition_deploy

    content = library_bytes("permit_application/permit_application.bpmn")
    return definition_deploy(
        content=content, filename="permit_application.bpmn", actor=analyst, agency=analyst.membership.agency
    )[0]


@pytest.fixture
def analyst_client(analyst):
    return client_for(analyst)


@pytest.fixture
def officer_client(officer):
    return client_for(officer)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
