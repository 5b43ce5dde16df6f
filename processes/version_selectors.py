"""Reads for comparing versions: every version of a process, with how many instances each one has."""

from django.db.models import Count

from engine.exceptions import DefinitionNotFoundError, MigrationInvalidError
from engine.models import InstanceStatus, ProcessInstance
from engine.services.steps import parsed_process_of
from engine.spiff import spec_alignment

from .definition_diff import definition_diff
from .models import ProcessDefinition


def definition_versions(key):
    """All versions of the process ``key``, newest first, each with its instance counts by status.

    Every row gets ``instance_counts`` (``{status: count}`` for every status, zeros included) and
    ``is_latest``.
    """
    versions = list(
        ProcessDefinition.objects.filter(key=key).select_related("deployed_by", "agency")
        .defer("bpmn_xml", "element_catalog").order_by("-version")
    )
    counts = {}
    rows = (ProcessInstance.objects.filter(definition__key=key).values("definition_id", "status")
            .annotate(count=Count("id")).order_by())
    for row in rows:
        counts.setdefault(row["definition_id"], {})[row["status"]] = row["count"]
    for position, definition in enumerate(versions):
        found = counts.get(definition.pk, {})
        definition.instance_counts = {status: found.get(status, 0) for status in InstanceStatus.values}
        definition.is_latest = position == 0
    return versions


def definition_by_id(definition_id):
    definition = ProcessDefinition.objects.filter(pk=definition_id).first()
    if definition is None:
        raise DefinitionNotFoundError(f"There is no process definition {definition_id}.")
    return definition


def definition_compare(source, target):
    """The diff of two versions with who they are: ``{key, from, to, elements, flows}``."""
    if source.key != target.key:
        raise MigrationInvalidError(
            f"Definition {target.pk} is process '{target.key}', not '{source.key}'; compare versions of one process."
        )
    return {
        "key": source.key,
        "from": {"id": source.pk, "version": source.version, "sha256": source.sha256},
        "to": {"id": target.pk, "version": target.version, "sha256": target.sha256},
        **definition_diff(source, target),
        # Elements SpiffWorkflow matches by their place in the flow although their id changed: an
        # instance waiting at the old id continues at the new one when migrated.
        "continues_as": spec_alignment(parsed_process_of(source), parsed_process_of(target)).continues_as,
    }
