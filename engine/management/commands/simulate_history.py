"""``manage.py simulate_history``: months of applications worked by a simulated office, through the engine."""

import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError

from engine.agencies import agency_ensure
from engine.models import ProcessInstance
from engine.simulation.database import fast_sqlite_writes
from engine.simulation.library import library_profiles
from engine.simulation.profile import SimulationProfileError
from engine.simulation.progress import ProgressBar
from engine.simulation.run import Simulation, simulation_period


class Command(BaseCommand):
    help = (
        "Simulate months of applications to the deployed library processes (those with a simulation.json): "
        "citizens apply, officers claim and complete in working hours, timers fire, all through the engine's "
        "services on a simulated clock. The same seed and end date give the same history."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=6, help="Length of the period (default 6).")
        parser.add_argument("--days", type=int, help="Length of the period in days, instead of --months.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--end", type=date.fromisoformat,
                            help="Last day, exclusive (YYYY-MM-DD; default today in the agency's time zone).")
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply every arrival rate (default 1).")
        parser.add_argument("--agency", help="Only this agency's processes (default: all with a profile).")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when there are process instances already.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")

    def handle(self, *args, **options):
        agency = agency_ensure(options["agency"]) if options["agency"] else None
        if options["if_empty"] and ProcessInstance.objects.exists():
            self.stdout.write("There are process instances already: no history simulated.")
            return
        try:
            processes = library_profiles(agency)
        except SimulationProfileError as error:
            raise CommandError(str(error))
        if not processes:
            raise CommandError("No deployed library process has a simulation.json: run `manage.py setup_demo` first.")
        processes = [(definition, _scaled(profile, options["scale"])) for definition, profile in processes]
        start, end = _period(options, ZoneInfo(processes[0][0].agency.timezone))
        progress = None if options["no_progress"] else ProgressBar(self.stderr._out, start, end)
        simulation = Simulation(processes=processes, start=start, end=end, seed=options["seed"],
                                progress=progress)
        began = time.monotonic()
        with fast_sqlite_writes():
            stats = simulation.run()
        seconds = time.monotonic() - began
        if progress is not None:
            progress.finish()
        self._report(start, end, stats, simulation.warnings, seconds, [definition for definition, _ in processes])

    def _report(self, start, end, stats, warnings, seconds, definitions):
        instances = stats["instances started"]
        self.stdout.write(
            f"Simulated {start:%Y-%m-%d} to {end:%Y-%m-%d} for {', '.join(d.key for d in definitions)}: "
            f"{instances} instances, {stats['tasks completed']} tasks completed, {stats['timers fired']} timers "
            f"fired, {stats['messages delivered']} messages, in {seconds:.1f} s "
            f"({instances / max(seconds, 1e-9) * 60:.0f} instances/min)."
        )
        for text, count in sorted(warnings.items()):
            self.stdout.write(f"  note: {text} ({count}x)")


def _scaled(profile, scale):
    if scale == 1.0:
        return profile
    if scale < 0:
        raise CommandError("--scale must be at least 0.")
    return replace(profile, per_working_day=profile.per_working_day * scale, per_day=profile.per_day * scale)


def _period(options, zone):
    end_day = options["end"] or datetime.now(zone).date()
    if options["days"] is not None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        end = datetime.combine(end_day, datetime.min.time(), zone)
        return end - timedelta(days=options["days"]), end
    if options["months"] < 1:
        raise CommandError("--months must be at least 1.")
    return simulation_period(end_day, options["months"], zone)
