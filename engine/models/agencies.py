"""Agencies are the tenants: users, groups and process definitions each belong to one.

An officer sees and acts on the tasks of their own agency; a task reaches another agency only by
naming one of that agency's groups as candidate (a cross-agency step, written ``code/Group`` in a
lane name or candidate list).
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class Agency(models.Model):
    code = models.SlugField(max_length=64, unique=True, help_text="Short stable code, e.g. dukcapil-sby.")
    name = models.CharField(max_length=255, help_text="Name in Bahasa Indonesia.")
    name_en = models.CharField(max_length=255, blank=True, help_text="English name.")
    timezone = models.CharField(max_length=64, default="Asia/Jakarta")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "agencies"

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ANALYST = "analyst", "Process analyst"
    OFFICER = "officer", "Officer"
    SUPERVISOR = "supervisor", "Supervisor"
    MANAGER = "manager", "Manager"


class Membership(models.Model):
    """A staff user's agency and role. Citizens (applicants) have none."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=16, choices=Role, default=Role.OFFICER)

    def __str__(self):
        return f"{self.user} ({self.role}, {self.agency.code})"


class AgencyGroup(models.Model):
    """Ties a Django group to its agency; the group's own name is ``<agency code>/<name>``."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="agency_group")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=120, help_text="The name within the agency, as lanes write it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="agency_group_name_unique")]

    def __str__(self):
        return self.group.name
