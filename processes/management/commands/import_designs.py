from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.agencies import agency_ensure, default_agency
from processes.library import bpmn_files, deploy_folder


class Command(BaseCommand):
    help = "Deploy every BPMN file below a folder (for example designer_exports/) and print a summary."

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Agency code the processes belong to (default: the default agency).")
        parser.add_argument("path", type=Path)

    def handle(self, *args, path, **options):
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder.")
        total = len(bpmn_files(path))
        done = 0

        def report(file_path, outcome, detail):
            nonlocal done
            done += 1
            self.stdout.write(f"[{done}/{total}] {outcome:<9} {file_path.relative_to(path)}  {detail}")

        deployed, unchanged, rejected = deploy_folder(path, actor=None, agency=_agency(options), report=report)
        self.stdout.write(
            f"Summary: {len(deployed)} deployed, {len(unchanged)} unchanged, {len(rejected)} rejected "
            f"of {total} file(s)."
        )


def _agency(options):
    return agency_ensure(options["agency"]) if options.get("agency") else default_agency()
