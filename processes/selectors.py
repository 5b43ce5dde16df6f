"""Reads of the process catalog."""

from engine.exceptions import DefinitionNotFoundError

from .models import ProcessDefinition


def definition_list():
    return ProcessDefinition.objects.select_related("deployed_by").order_by("key", "-version")


def definition_latest(key):
    """The newest version of the process ``key``."""
    definition = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
    if definition is None:
        raise DefinitionNotFoundError(f"No process with key '{key}' is deployed.")
    return definition
