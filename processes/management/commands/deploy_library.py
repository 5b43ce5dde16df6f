from django.core.management.base import BaseCommand, CommandError

from engine.agencies import agency_ensure, default_agency
from processes.library import LIBRARY_DIR, deploy_folder


class Command(BaseCommand):
    help = "Deploy the bundled process library (processes/library/); unchanged files keep their version."

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Agency code the processes belong to (default: the default agency).")

    def handle(self, *args, **options):
        def report(path, outcome, detail):
            self.stdout.write(f"  {outcome:<9} {path.relative_to(LIBRARY_DIR)}  {detail}")

        _deployed, _unchanged, rejected = deploy_folder(LIBRARY_DIR, actor=None, agency=_agency(options), report=report)
        if rejected:
            raise CommandError(f"{len(rejected)} bundled file(s) were rejected: {', '.join(rejected)}")


def _agency(options):
    return agency_ensure(options["agency"]) if options.get("agency") else default_agency()
