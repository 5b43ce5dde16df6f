"""The processes of the bundled library that have a simulation profile, as deployed in an agency."""

from processes.library import LIBRARY_DIR, bpmn_files
from processes.models import ProcessDefinition

from .profile import FILENAME, load_profile


def library_profiles(agency, folder=LIBRARY_DIR):
    """``[(definition, ProcessProfile), ...]``: the latest deployed version of every BPMN file below ``folder``
    that has a ``simulation.json`` beside it, in the agency; files not deployed there are skipped."""
    found = []
    for path in bpmn_files(folder):
        profile_path = path.parent / FILENAME
        if not profile_path.is_file():
            continue
        definition = (
            ProcessDefinition.objects.filter(agency=agency, filename=path.name).order_by("-version").first()
        )
        if definition is not None:
            found.append((definition, load_profile(profile_path, definition.key)))
    return found
