from django.core.management.base import BaseCommand, CommandError

from engine.agencies import agency_ensure
from processes.library import LIBRARY_DIR, deploy_library


class Command(BaseCommand):
    help = (
        "Deploy the bundled process library (processes/library/), each folder for the agency its agency.json "
        "names (created if missing); unchanged files keep their version."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--agency", help="Agency code all the processes belong to (default: each folder's agency.json, else "
            "the default agency)."
        )

    def handle(self, *args, **options):
        def report(path, outcome, detail):
            self.stdout.write(f"  {outcome:<9} {path.relative_to(LIBRARY_DIR)}  {detail}")

        _deployed, _unchanged, rejected = deploy_library(actor=None, agency=_agency(options), report=report)
        if rejected:
            raise CommandError(f"{len(rejected)} bundled file(s) were rejected: {', '.join(rejected)}")


def _agency(options):
    return agency_ensure(options["agency"]) if options.get("agency") else None
