"""Messages between parties (API v1): ``POST messages/``.

``{"name": "documents_resubmitted", "correlation_key": "IMB-2026-0042", "data": {...}}`` reaches the
instances waiting for that message under that key (the key the model declares for the message, else
the instance's business key, else its tracking code) and answers 200 with where it was caught:
``{"correlated": [{"instance_id", "tracking_code", "element_id"}, ...]}``. Staff of any agency may
send (another agency replying), a citizen only to their own applications; when no instance the
caller may address waits for it, the answer is 404 and nothing changes.
"""

from django.urls import re_path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.services import message_correlate


class MessageSendSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, help_text="The BPMN message name, e.g. documents_resubmitted.")
    correlation_key = serializers.CharField(
        max_length=255, help_text="The key the model declares, else the business key, else the tracking code."
    )
    data = serializers.JSONField(required=False, default=dict, help_text="Merged into the catching path's data.")

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("data must be a JSON object.")
        return value


class MessageCatchSerializer(serializers.Serializer):
    instance_id = serializers.IntegerField()
    tracking_code = serializers.CharField(source="instance.tracking_code")
    element_id = serializers.CharField()


class MessageCorrelationSerializer(serializers.Serializer):
    correlated = MessageCatchSerializer(many=True)


class MessageView(APIView):
    @extend_schema(
        request=MessageSendSerializer,
        responses={
            200: MessageCorrelationSerializer,
            400: OpenApiResponse(description="Malformed JSON, or data that is not an object of plain values."),
            404: OpenApiResponse(description="No instance you may address waits for this message and key."),
        },
    )
    def post(self, request):
        body = MessageSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        correlated = message_correlate(
            name=body.validated_data["name"],
            correlation_key=body.validated_data["correlation_key"],
            data=body.validated_data["data"],
            actor=request.user,
        )
        return Response(MessageCorrelationSerializer({"correlated": correlated}).data)


urlpatterns = [
    re_path(r"^messages/?$", MessageView.as_view(), name="message-correlate"),
]
