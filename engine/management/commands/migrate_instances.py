from django.core.management.base import BaseCommand, CommandError

from engine.exceptions import DefinitionNotFoundError, MigrationInvalidError
from engine.services.instance_migration import instances_migrate
from processes.version_selectors import definition_by_id


class Command(BaseCommand):
    help = (
        "Move the running instances of one process version to another (definition ids). Each instance moves "
        "in its own transaction; those that cannot move are listed with the reason and left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=int, help="Id of the definition the instances run now.")
        parser.add_argument("target", type=int, help="Id of the definition to move them to (same process).")
        parser.add_argument("--dry-run", action="store_true", help="Only say which instances can move.")
        parser.add_argument("--instance", type=int, action="append", dest="instances",
                            help="Only this instance (repeatable); default: every running instance of source.")

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        try:
            source, target = definition_by_id(options["source"]), definition_by_id(options["target"])
            verdicts = instances_migrate(
                source=source, target=target, actor=None, instance_ids=options["instances"], dry_run=dry_run
            )
        except (DefinitionNotFoundError, MigrationInvalidError) as error:
            raise CommandError(str(error))
        for verdict in verdicts:
            outcome = ("can move" if dry_run else "migrated") if verdict.can_move else f"cannot move: {verdict.reason}"
            self.stdout.write(f"instance {verdict.instance_id} ({verdict.tracking_code or '-'}): {outcome}")
        movable = sum(verdict.can_move for verdict in verdicts)
        if dry_run:
            self.stdout.write(f"{movable} of {len(verdicts)} can move (dry run: nothing changed)")
        else:
            migrated = sum(verdict.migrated for verdict in verdicts)
            self.stdout.write(f"{migrated} of {len(verdicts)} migrated from version {source.version} "
                              f"to version {target.version}")
