"""Documents and comments on applications and tasks (API v1).

- ``POST/GET process-instances/{id}/documents/`` and ``POST/GET tasks/{id}/documents/``: attach a file
  (multipart field ``file``: PDF, PNG, JPEG, TIFF or WebP, checked by name, declared type and content)
  or list them, oldest first. An instance's list also holds the documents of its tasks the caller may see.
- ``GET documents/{id}/``: the metadata; ``GET documents/{id}/download/``: the file, as an attachment
  with its original name.
- ``POST/GET process-instances/{id}/comments/`` and ``POST/GET tasks/{id}/comments/``:
  ``{"text": "...", "internal": false}``; internal comments are written and read by staff only.

Whatever the caller may not see answers 404, as if it did not exist.
"""

from django.http import FileResponse
from django.urls import re_path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from engine import document_selectors as selectors
from engine.models import Comment, Document
from engine.services import comment_add, document_attach


class DocumentSerializer(serializers.ModelSerializer):
    instance_id = serializers.IntegerField(read_only=True)
    task_id = serializers.IntegerField(source="human_task_id", read_only=True, allow_null=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "instance_id", "task_id", "filename", "content_type", "size", "sha256", "uploaded_by",
            "created_at", "download_url",
        ]

    def get_download_url(self, document) -> str:
        path = reverse("document-download", kwargs={"document_id": document.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DocumentUploadSerializer(serializers.Serializer):
    # Empty files pass here so that the engine refuses them with its own reason.
    file = serializers.FileField(allow_empty_file=True, help_text="A PDF, PNG, JPEG, TIFF or WebP file.")


class CommentSerializer(serializers.ModelSerializer):
    instance_id = serializers.IntegerField(read_only=True)
    task_id = serializers.IntegerField(source="human_task_id", read_only=True, allow_null=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "instance_id", "task_id", "author", "text", "internal", "created_at"]


class CommentWriteSerializer(serializers.Serializer):
    # Length and blank text are the engine's to judge (CommentInvalidError).
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    internal = serializers.BooleanField(default=False, help_text="Staff only: never shown to the applicant.")


class _ListView(generics.GenericAPIView):
    filter_backends = []

    def _paginated(self, queryset):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _created(self, obj):
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)


class _DocumentListView(_ListView):
    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def _uploaded_file(self):
        upload = DocumentUploadSerializer(data=self.request.data)
        upload.is_valid(raise_exception=True)
        return upload.validated_data["file"]


_UPLOAD_SCHEMA = extend_schema(
    request={"multipart/form-data": DocumentUploadSerializer},
    responses={
        201: DocumentSerializer,
        400: OpenApiResponse(description="The file was refused (too large, empty, or not an accepted type)."),
        404: OpenApiResponse(description="Unknown, or not visible to the caller."),
        409: OpenApiResponse(description="The task is completed or cancelled, or the instance is closed."),
    },
)


class InstanceDocumentsView(_DocumentListView):
    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request, instance_id):
        instance = selectors.instance_get_for_user(instance_id=instance_id, user=request.user)
        return self._paginated(selectors.document_list_for_instance(instance, request.user))

    @_UPLOAD_SCHEMA
    def post(self, request, instance_id):
        document = document_attach(instance_id=instance_id, actor=request.user, uploaded_file=self._uploaded_file())
        return self._created(document)


class TaskDocumentsView(_DocumentListView):
    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request, task_id):
        task = selectors.human_task_get_for_user(task_id=task_id, user=request.user)
        return self._paginated(selectors.document_list_for_task(task))

    @_UPLOAD_SCHEMA
    def post(self, request, task_id):
        document = document_attach(task_id=task_id, actor=request.user, uploaded_file=self._uploaded_file())
        return self._created(document)


class DocumentDetailView(APIView):
    @extend_schema(responses=DocumentSerializer)
    def get(self, request, document_id):
        document = selectors.document_get_for_user(document_id=document_id, user=request.user)
        return Response(DocumentSerializer(document, context={"request": request}).data)


class _AnyAcceptHeader(BaseContentNegotiation):
    """A download is the file whatever the Accept header asks for; errors still answer in JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DocumentDownloadView(APIView):
    content_negotiation_class = _AnyAcceptHeader

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The file.")})
    def get(self, request, document_id):
        document = selectors.document_get_for_user(document_id=document_id, user=request.user)
        response = FileResponse(
            selectors.document_file_open(document),
            as_attachment=True,
            filename=document.filename,
            content_type=document.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


class _CommentListView(_ListView):
    serializer_class = CommentSerializer

    def _comment(self, **target):
        body = CommentWriteSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        comment = comment_add(
            actor=self.request.user, text=body.validated_data["text"], internal=body.validated_data["internal"],
            **target,
        )
        return self._created(comment)


class InstanceCommentsView(_CommentListView):
    @extend_schema(responses=CommentSerializer(many=True))
    def get(self, request, instance_id):
        instance = selectors.instance_get_for_user(instance_id=instance_id, user=request.user)
        return self._paginated(selectors.comment_list_for_instance(instance, request.user))

    @extend_schema(request=CommentWriteSerializer, responses={201: CommentSerializer})
    def post(self, request, instance_id):
        return self._comment(instance_id=instance_id)


class TaskCommentsView(_CommentListView):
    @extend_schema(responses=CommentSerializer(many=True))
    def get(self, request, task_id):
        task = selectors.human_task_get_for_user(task_id=task_id, user=request.user)
        return self._paginated(selectors.comment_list_for_task(task, request.user))

    @extend_schema(request=CommentWriteSerializer, responses={201: CommentSerializer})
    def post(self, request, task_id):
        return self._comment(task_id=task_id)


# Like the router's routes, each path works with and without its trailing slash.
urlpatterns = [
    re_path(r"^process-instances/(?P<instance_id>[0-9]+)/documents/?$", InstanceDocumentsView.as_view(),
            name="instance-documents"),
    re_path(r"^process-instances/(?P<instance_id>[0-9]+)/comments/?$", InstanceCommentsView.as_view(),
            name="instance-comments"),
    re_path(r"^tasks/(?P<task_id>[0-9]+)/documents/?$", TaskDocumentsView.as_view(), name="task-documents"),
    re_path(r"^tasks/(?P<task_id>[0-9]+)/comments/?$", TaskCommentsView.as_view(), name="task-comments"),
    re_path(r"^documents/(?P<document_id>[0-9]+)/?$", DocumentDetailView.as_view(), name="document-detail"),
    re_path(r"^documents/(?P<document_id>[0-9]+)/download/?$", DocumentDownloadView.as_view(),
            name="document-download"),
]
