"""Token authentication (api/authentication.py): the membership comes with the token."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _tables_read(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [query["sql"] for query in captured.captured_queries]


def test_the_membership_is_read_with_the_token(officer):
    """An officer's inbox asks the membership table once: in the token's own query."""
    response, queries = _tables_read(client_for(officer), "/api/v1/tasks/")
    assert response.status_code == 200
    with_membership = [sql for sql in queries if "engine_membership" in sql]
    assert len(with_membership) == 1 and "authtoken_token" in with_membership[0]


def test_a_user_without_membership_is_authenticated(applicant):
    """A citizen has no membership: authenticated all the same, and sees their own (empty) inbox."""
    response = client_for(applicant).get("/api/v1/tasks/")
    assert response.status_code == 200 and response.json()["results"] == []


def test_an_unknown_token_is_refused():
    """A token nobody holds is 401."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/v1/tasks/").status_code == 401


def test_an_inactive_users_token_is_refused(officer):
    """The token of a deactivated user no longer opens the API."""
    client = client_for(officer)
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    assert client.get("/api/v1/tasks/").status_code == 401
