"""Versions of a process: list them, compare two, move running instances from one to another.

Mixed into ``ProcessDefinitionViewSet`` (``/api/v1/process-definitions/{id}/versions|diff|migrate/``).
Reading versions and diffs is open to everyone signed in, like the definitions themselves; migrating
is for the analysts of the definition's agency (``engine.services.instance_migration``).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from engine.exceptions import MigrationInvalidError
from engine.services.instance_migration import instances_migrate
from processes.version_selectors import definition_by_id, definition_compare, definition_versions


class VersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    agency = serializers.CharField(source="agency.code")
    sha256 = serializers.CharField(help_text="Checksum of the file and the form files it uses.")
    filename = serializers.CharField()
    deployed_at = serializers.DateTimeField()
    deployed_by = serializers.CharField(source="deployed_by.username", allow_null=True, read_only=True)
    is_latest = serializers.BooleanField()
    instance_counts = serializers.DictField(child=serializers.IntegerField(), help_text="Instances by status.")


class MigrateSerializer(serializers.Serializer):
    to = serializers.IntegerField(help_text="The id of the definition (version) to move the instances to.")
    instances = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_empty=False, max_length=10000,
        help_text="Instance ids; default: every running instance of this version.",
    )
    dry_run = serializers.BooleanField(default=True, help_text="Only say which instances can move (default).")


_VERDICT_FIELDS = {
    "instance_id": drf_fields.IntegerField(),
    "tracking_code": drf_fields.CharField(),
    "can_move": drf_fields.BooleanField(),
    "reason": drf_fields.CharField(allow_null=True),
    "reasons": drf_fields.ListField(child=drf_fields.CharField()),
    "position": drf_fields.ListField(child=drf_fields.DictField()),
    "migrated": drf_fields.BooleanField(),
}


class DefinitionVersionsMixin:
    """The version actions of the process-definitions view set."""

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        """Every version of this definition's process, newest first, with instance counts by status."""
        definition = self.get_object()
        return Response(VersionSerializer(definition_versions(definition.key), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("to", int, required=True, description="The other definition's id.")],
        responses={200: OpenApiResponse(description="`elements` and `flows`, each `added`, `removed`, `changed`.")},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """What changed from this version to the one named by ``?to=``."""
        source = self.get_object()
        target_id = request.query_params.get("to", "")
        if not target_id.isdigit():
            raise MigrationInvalidError("Name the version to compare with: ?to=<definition id>.")
        return Response(definition_compare(source, definition_by_id(int(target_id))))

    @extend_schema(request=MigrateSerializer, responses=inline_serializer("MigrationReport", {
        "from": drf_fields.DictField(), "to": drf_fields.DictField(), "dry_run": drf_fields.BooleanField(),
        "movable": drf_fields.IntegerField(), "migrated": drf_fields.IntegerField(),
        "instances": inline_serializer("MigrationVerdict", _VERDICT_FIELDS, many=True),
    }))
    @action(detail=True, methods=["post"])
    def migrate(self, request, pk=None):
        """Move running instances of this version to another version of the process (dry run by default)."""
        source = self.get_object()
        body = MigrateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = definition_by_id(body.validated_data["to"])
        verdicts = instances_migrate(
            source=source, target=target, actor=request.user, instance_ids=body.validated_data.get("instances"),
            dry_run=body.validated_data["dry_run"],
        )
        return Response({
            "from": {"id": source.pk, "version": source.version},
            "to": {"id": target.pk, "version": target.version},
            "dry_run": body.validated_data["dry_run"],
            "movable": sum(verdict.can_move for verdict in verdicts),
            "migrated": sum(verdict.migrated for verdict in verdicts),
            "instances": [verdict.as_dict() for verdict in verdicts],
        })
