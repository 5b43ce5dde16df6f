"""REST API v1. Views parse the request, call one service or selector, and serialize the answer."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import fields as drf_fields
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from engine import selectors as engine_selectors
from engine.agencies import agency_of, default_agency
from engine.document_selectors import instance_history_for_user
from engine.exceptions import DefinitionInvalidError, InstanceNotFoundError, TaskDataInvalidError, TaskNotFoundError
from engine.models import Agency, HumanTask, HumanTaskStatus
from engine.services import (
    human_task_assign,
    human_task_claim,
    human_task_complete,
    human_task_delegate,
    human_task_resolve,
    human_task_unclaim,
    instance_start,
)
from processes import selectors as process_selectors
from processes.bpmn_xml import parse_xml
from processes.diagram import render_svg
from processes.services import definition_check, definition_deploy

from . import serializers
from .filters import HumanTaskFilter, InstanceFilter, filters_given, lists_open_tasks
from .inbox_filters import variables_filtered
from .inbox_list import task_list_items
from .pagination import KeysetCursorPagination
from .versions import DefinitionVersionsMixin


def _deploy_agency(user, agency_code):
    """The analyst's own agency; a superuser names one (or gets the default agency)."""
    if agency_code:
        agency = Agency.objects.filter(code=agency_code).first()
        if agency is None:
            raise DefinitionInvalidError(f"There is no agency '{agency_code}'.")
        return agency
    return agency_of(user) or default_agency()


def _user_or_none(username):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TaskDataInvalidError(f"There is no user '{username}'.")
    return user


def _svg_response(svg_bytes):
    return HttpResponse(svg_bytes, content_type="image/svg+xml")


class ProcessDefinitionViewSet(
    DefinitionVersionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = serializers.DefinitionSerializer
    filterset_fields = ["key"]
    ordering_fields = ["key", "version", "deployed_at"]

    def get_queryset(self):
        return process_selectors.definition_list()

    @extend_schema(
        request={"multipart/form-data": serializers.DefinitionUploadSerializer},
        responses={
            201: OpenApiResponse(serializers.DefinitionSerializer, description="Deployed; `warnings` added."),
            200: OpenApiResponse(serializers.DefinitionSerializer, description="Identical file already deployed."),
            400: OpenApiResponse(description="Invalid BPMN: `errors` (and `warnings`) list severity, code, "
                                 "message, line and element_id."),
        },
    )
    def create(self, request):
        self.parser_classes = [MultiPartParser, FormParser]
        upload = serializers.DefinitionUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        uploaded = upload.validated_data["file"]
        agency = _deploy_agency(request.user, upload.validated_data.get("agency"))
        form_files = {form.name: form.read() for form in upload.validated_data["forms"]}
        decision_files = {dmn.name: dmn.read() for dmn in upload.validated_data["decisions"]}
        definition, created = definition_deploy(
            content=uploaded.read(), filename=uploaded.name, actor=request.user, agency=agency, form_files=form_files,
            decision_files=decision_files,
        )
        body = serializers.DefinitionSerializer(definition).data
        body["warnings"] = definition.validation_report.get("warnings", [])
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        request={"multipart/form-data": serializers.DefinitionUploadSerializer},
        responses={200: OpenApiResponse(description="The validation report: valid, errors, warnings.")},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def validate(self, request):
        """Dry run of a deploy: the full validation report of the upload; nothing is deployed."""
        upload = serializers.DefinitionUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        agency = _deploy_agency(request.user, upload.validated_data.get("agency"))
        form_files = {form.name: form.read() for form in upload.validated_data["forms"]}
        decision_files = {dmn.name: dmn.read() for dmn in upload.validated_data["decisions"]}
        report = definition_check(
            content=upload.validated_data["file"].read(), actor=request.user, agency=agency, form_files=form_files,
            decision_files=decision_files,
        )
        return Response(report.as_dict())

    @extend_schema(responses={200: OpenApiResponse(description="The report stored when the version was deployed.")})
    @action(detail=True, methods=["get"])
    def validation(self, request, pk=None):
        definition = self.get_object()
        return Response({"valid": True, "errors": [], "warnings": [], **definition.validation_report})

    @extend_schema(responses={(200, "image/svg+xml"): OpenApiResponse(description="The process as SVG.")})
    @action(detail=True, methods=["get"], url_path="diagram.svg")
    def diagram(self, request, pk=None):
        definition = self.get_object()
        tree = parse_xml(definition.bpmn_xml.encode("utf-8"))
        return _svg_response(render_svg(tree, definition.key))


class ProcessInstanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = InstanceFilter
    ordering_fields = ["started_at", "updated_at"]
    ordering = ["-started_at"]

    def get_queryset(self):
        return engine_selectors.instance_list_for_user(self.request.user)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.InstanceDetailSerializer
        if self.action == "create":
            return serializers.InstanceStartSerializer
        return serializers.InstanceSerializer

    def get_object(self):
        try:
            return super().get_object()
        except Exception as error:
            if getattr(error, "status_code", None) == 404:
                raise InstanceNotFoundError(f"There is no instance {self.kwargs.get('pk')} you may see.")
            raise

    @extend_schema(request=serializers.InstanceStartSerializer, responses={201: serializers.InstanceDetailSerializer})
    def create(self, request):
        start = serializers.InstanceStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        definition = process_selectors.definition_latest(start.validated_data["process"])
        instance = instance_start(
            definition=definition,
            data=start.validated_data["data"],
            actor=request.user,
            business_key=start.validated_data["business_key"],
            applicant=_user_or_none(start.validated_data.get("applicant")),
        )
        return Response(serializers.InstanceDetailSerializer(instance).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.HistoryEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        instance = self.get_object()
        events = instance_history_for_user(instance, request.user)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(serializers.HistoryEventSerializer(page, many=True).data)

    @extend_schema(responses={(200, "image/svg+xml"): OpenApiResponse(description="Current position in colour.")})
    @action(detail=True, methods=["get"], url_path="diagram.svg")
    def diagram(self, request, pk=None):
        instance = self.get_object()
        open_elements = instance.human_tasks.filter(
            status__in=[HumanTaskStatus.READY, HumanTaskStatus.CLAIMED]
        ).values_list("element_id", flat=True)
        highlight = {element_id: "#ffd54f" for element_id in open_elements}
        tree = parse_xml(instance.definition.bpmn_xml.encode("utf-8"))
        return _svg_response(render_svg(tree, instance.process_key, highlight=highlight))


class HumanTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's inbox: tasks assigned to them or offered to them or their groups."""

    serializer_class = serializers.HumanTaskSerializer
    filterset_class = HumanTaskFilter
    pagination_class = KeysetCursorPagination
    ordering_fields = ["created_at", "due_at", "follow_up_at", "priority"]
    ordering = ["created_at"]

    def get_queryset(self):
        params = self.request.query_params
        return engine_selectors.human_task_list_for_user(
            self.request.user,
            open_only=lists_open_tasks(params),
            for_page=self.action == "list",
            variables=variables_filtered(params),
        )

    def load_page_rows(self, ids):
        """The page's rows by id, as plain dicts: the ids were found (visible, filtered, sorted) by the pagination."""
        return engine_selectors.human_task_list_rows(ids)

    def list(self, request):
        """A page of the inbox, written from plain rows (``api.inbox_list``): the serializer's fields, faster."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(task_list_items(page))

    @extend_schema(responses=inline_serializer("TaskCounts", {
        "total": drf_fields.IntegerField(),
        "by_status": drf_fields.DictField(child=drf_fields.IntegerField()),
        "by_process": drf_fields.DictField(child=drf_fields.IntegerField()),
        "overdue": drf_fields.IntegerField(),
    }))
    @action(detail=False, methods=["get"])
    def counts(self, request):
        """The caller's open tasks counted by status, by process and overdue (the list's filters apply).

        Without a filter, from the inbox counters (a few small queries); with one, by counting the rows."""
        if not filters_given(request.query_params):
            return Response(engine_selectors.human_task_open_counts(request.user))
        parts = engine_selectors.human_task_count_parts(request.user)
        return Response(engine_selectors.human_task_counts([self.filter_queryset(part) for part in parts]))

    def get_object(self):
        try:
            task = HumanTask.objects.select_related("instance", "assignee").get(pk=self.kwargs["pk"])
        except (HumanTask.DoesNotExist, ValueError):
            raise TaskNotFoundError(f"There is no task {self.kwargs['pk']}.")
        if not engine_selectors.human_task_visible_to(task, self.request.user):
            raise TaskNotFoundError(f"There is no task {self.kwargs['pk']} you may see.")
        return task

    def _answer(self, task):
        task.refresh_from_db()
        return Response(self.get_serializer(task).data)

    @extend_schema(request=None, responses=serializers.HumanTaskSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        return self._answer(human_task_claim(task_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=None, responses=serializers.HumanTaskSerializer)
    @action(detail=True, methods=["post"])
    def unclaim(self, request, pk=None):
        return self._answer(human_task_unclaim(task_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=serializers.TaskUserSerializer, responses=serializers.HumanTaskSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """A supervisor assigns the task to an officer (``{"user": null}`` takes it back)."""
        body = serializers.TaskUserSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = human_task_assign(
            task_id=self.get_object().pk, actor=request.user, assignee_username=body.validated_data["user"]
        )
        return self._answer(task)

    @extend_schema(request=serializers.TaskUserSerializer, responses=serializers.HumanTaskSerializer)
    @action(detail=True, methods=["post"])
    def delegate(self, request, pk=None):
        """The assignee hands the task to a colleague, who resolves it back."""
        body = serializers.TaskUserSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not body.validated_data["user"]:
            raise TaskDataInvalidError("Name the user to delegate to.")
        task = human_task_delegate(
            task_id=self.get_object().pk, actor=request.user, delegate_username=body.validated_data["user"]
        )
        return self._answer(task)

    @extend_schema(request=serializers.TaskCompleteSerializer, responses=serializers.HumanTaskSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """The delegate returns the task to its owner with their data; the owner then completes it."""
        body = serializers.TaskCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = human_task_resolve(task_id=self.get_object().pk, actor=request.user, data=body.validated_data["data"])
        return self._answer(task)

    @extend_schema(request=serializers.TaskCompleteSerializer, responses=serializers.HumanTaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        body = serializers.TaskCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = human_task_complete(task_id=self.get_object().pk, actor=request.user, data=body.validated_data["data"])
        return self._answer(task)
