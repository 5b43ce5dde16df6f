from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.agencies import agency_ensure, default_agency
from processes.library import bpmn_files, deploy_folder
from processes.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Deploy every BPMN file below a folder (for example designer_exports/), with a progress bar on stderr "
        "and a summary: deployed, already deployed, rejected with the reasons."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Agency code the processes belong to (default: the default agency).")
        parser.add_argument("path", type=Path)

    def handle(self, *args, path, **options):
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder.")
        total = len(bpmn_files(path))
        bar = ProgressBar(total, stream=self.stderr._out)
        done = 0
        reasons = {}

        def report(file_path, outcome, detail):
            nonlocal done
            done += 1
            name = file_path.relative_to(path)
            label = "already deployed" if outcome == "unchanged" else outcome
            self.stdout.write(f"[{done}/{total}] {label:<16} {name}  {detail}")
            if outcome == "rejected":
                reasons[str(name)] = detail
            bar.update(done, str(name))

        deployed, unchanged, rejected = deploy_folder(path, actor=None, agency=_agency(options), report=report)
        self.stdout.write(
            f"Summary: {len(deployed)} deployed, {len(unchanged)} already deployed, {len(rejected)} rejected "
            f"of {total} file(s)."
        )
        for name, detail in reasons.items():
            self.stdout.write(f"  rejected {name}: {detail}")


def _agency(options):
    return agency_ensure(options["agency"]) if options.get("agency") else default_agency()
