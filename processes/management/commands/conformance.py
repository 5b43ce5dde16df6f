import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from processes.conformance import DEFAULT_STEP_LIMIT, DEFAULT_TIME_LIMIT, format_table, run_corpus
from processes.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Deploy and run every BPMN file of a corpus (a folder with an optional MANIFEST.tsv, or one file) "
        "inside rolled-back transactions, and print per source: deployed, ran to end, stopped, rejected, crashed."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--json", action="store_true", help="Print the counts and every file's outcome as JSON.")
        parser.add_argument("--verbose", action="store_true", help="Print each file's outcome and reason.")
        parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT,
                            help=f"Seconds allowed per file (default {DEFAULT_TIME_LIMIT:g}).")
        parser.add_argument("--step-limit", type=int, default=DEFAULT_STEP_LIMIT,
                            help=f"Tasks completed and timers fired per instance (default {DEFAULT_STEP_LIMIT}).")
        parser.add_argument("--by-folder", type=int, default=0, metavar="N",
                            help="One row per first N folders of the path instead of per source "
                                 "(2: per tool of the BPMN MIWG suite).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar on stderr.")

    def handle(self, *args, path, **options):
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        bar = None if options["no_progress"] else ProgressBar(0, stream=self.stderr._out)

        def progress(index, total, result):
            if bar is not None:
                bar.total = total
                bar.update(index, result.path)

        report = run_corpus(path, time_limit=options["time_limit"], step_limit=options["step_limit"],
                            progress=progress)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        if options["verbose"]:
            for result in report.results:
                reason = result.message if result.message.lower().startswith(result.category.lower()) else (
                    f"{result.category}: {result.message}" if result.message else result.category)
                self.stdout.write(f"{result.outcome:<11} {result.path}  {reason}".rstrip())
            self.stdout.write("")
        self.stdout.write(format_table(report, options["by_folder"]))
        for outcome in ("stopped", "rejected", "crashed", "dmn_rejected"):
            reasons = report.reasons(outcome)
            if reasons:
                self.stdout.write(f"\n{outcome}:")
                for category, count in reasons:
                    self.stdout.write(f"  {count:>5}  {category}")
        self.stdout.write(f"\n{len(report.results)} file(s) in {report.seconds:.0f}s.")
