"""The process catalog: deployed BPMN definitions, one row per version."""

from django.conf import settings
from django.db import models


class ProcessDefinition(models.Model):
    """One deployed version of a BPMN process; the file is kept exactly as uploaded."""

    key = models.CharField(max_length=255, help_text="The BPMN process id.")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=500, blank=True)
    agency = models.ForeignKey("engine.Agency", on_delete=models.PROTECT, related_name="definitions")
    sha256 = models.CharField(
        max_length=64, help_text="Checksum of the uploaded file (and of the form files it uses, if any)."
    )
    filename = models.CharField(max_length=255, blank=True)
    bpmn_xml = models.TextField()
    element_catalog = models.JSONField(
        default=dict, blank=True,
        help_text="Per user or manual task: assignment, dates, priority and form, read at deploy time "
        "(processes.extensions).",
    )
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    service_levels = models.JSONField(
        default=dict, blank=True,
        help_text="Promised times in working time, read at deploy (see processes.service_levels).",
    )
    decision_files = models.JSONField(
        default=dict, blank=True,
        help_text="The DMN files deployed with the process, {file name: XML text} (see engine.dmn).",
    )
    step_texts = models.JSONField(
        default=dict, blank=True,
        help_text="Names in Bahasa Indonesia and English, notes and documents per step (processes.step_texts).",
    )
    deployed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="definition_key_version_unique"),
            models.UniqueConstraint(fields=["key", "sha256"], name="definition_key_sha256_unique"),
        ]

    def __str__(self):
        return f"{self.key} v{self.version}"
