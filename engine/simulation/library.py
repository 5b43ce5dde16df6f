"""The processes of the bundled library that have a simulation profile, as deployed."""

from processes.library import LIBRARY_DIR, bpmn_files
from processes.models import ProcessDefinition

from .profile import FILENAME, load_profile


def library_profiles(agency=None, folder=LIBRARY_DIR):
    """``[(definition, ProcessProfile), ...]``: the latest deployed version of every BPMN file below ``folder``
    that has a ``simulation.json`` beside it (in ``agency`` only, when given); files not deployed are skipped."""
    found = []
    for path in bpmn_files(folder):
        profile_path = path.parent / FILENAME
        if not profile_path.is_file():
            continue
        definitions = ProcessDefinition.objects.filter(filename=path.name).select_related("agency")
        if agency is not None:
            definitions = definitions.filter(agency=agency)
        definition = definitions.order_by("-pk").first()
        if definition is not None:
            found.append((definition, load_profile(profile_path, definition.key)))
    return found
