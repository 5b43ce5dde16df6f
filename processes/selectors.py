"""Reads of the process catalog."""

from engine.exceptions import DefinitionNotFoundError

from .models import ProcessDefinition


def definition_list():
    return ProcessDefinition.objects.select_related("deployed_by").defer("element_catalog").order_by("key", "-version")


def definition_catalog(definition_id):
    """The element catalog of a definition (processes.extensions), {} for an unknown id."""
    catalog = ProcessDefinition.objects.filter(pk=definition_id).values_list("element_catalog", flat=True).first()
    return catalog or {}


def definition_latest(key):
    """The newest version of the process ``key``."""
    definition = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
    if definition is None:
        raise DefinitionNotFoundError(f"No process with key '{key}' is deployed.")
    return definition


def definition_step_texts(definition_id):
    """The names, notes and documents of a definition's steps (processes.step_texts), {} for an unknown id."""
    texts = ProcessDefinition.objects.filter(pk=definition_id).values_list("step_texts", flat=True).first()
    return texts or {}
