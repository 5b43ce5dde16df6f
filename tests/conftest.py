"""Shared fixtures: users in their groups, authenticated API clients, and deploying fixture files."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from engine.spiff.specs import SPEC_CACHE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bpmn"
LIBRARY = ROOT / "processes" / "library"


def fixture_bytes(relative):
    return (FIXTURES / relative).read_bytes()


def library_bytes(relative):
    return (LIBRARY / relative).read_bytes()


@pytest.fixture(autouse=True)
def _fresh_spec_cache():
    SPEC_CACHE.clear()
    yield
    SPEC_CACHE.clear()


def _user(username, *groups, permissions=()):
    user = User.objects.create_user(username=username, password=f"{username}-pw")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def analyst(db):
    return _user("analyst", permissions=["add_processdefinition"])


@pytest.fixture
def officer(db):
    return _user("officer", "Front Office", "Verifier", "Clerks")


@pytest.fixture
def second_officer(db):
    return _user("second_officer", "Front Office", "Verifier", "Clerks")


@pytest.fixture
def head(db):
    return _user("head", "Head of Office")


@pytest.fixture
def applicant(db):
    return _user("applicant", "Applicant")


@pytest.fixture
def outsider(db):
    return _user("outsider", "Another Agency")


def client_for(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def analyst_client(analyst):
    return client_for(analyst)


@pytest.fixture
def officer_client(officer):
    return client_for(officer)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
