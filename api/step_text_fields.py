"""English names and required documents beside the Indonesian names the API shows (processes.step_texts)."""

from rest_framework import serializers

from processes.selectors import definition_step_texts
from processes.step_texts import documents_of, lane_texts, stage_texts


class StepTextsMixin(serializers.Serializer):
    """For task serializers: ``name_en``, ``lane_en`` and ``documents`` from the task's definition.

    The step texts are read once per definition for a whole page (cached in the serializer context).
    """

    name_en = serializers.SerializerMethodField(help_text="The step's English name (the model's name_en, else name).")
    lane_en = serializers.SerializerMethodField(help_text="The lane's English name, or null without a lane.")
    documents = serializers.SerializerMethodField(
        help_text='Documents the step needs, [{"id": Bahasa Indonesia, "en": English}].'
    )

    def _texts(self, task):
        cache = self.context.setdefault("step_texts", {})
        definition_id = task.instance.definition_id
        if definition_id not in cache:
            cache[definition_id] = definition_step_texts(definition_id)
        return cache[definition_id]

    def get_name_en(self, task) -> str:
        return stage_texts(self._texts(task), task.element_id, task.name)["en"]

    def get_lane_en(self, task) -> str | None:
        texts = lane_texts(self._texts(task), task.lane)
        return texts["en"] if texts else None

    def get_documents(self, task) -> list[dict]:
        return documents_of(self._texts(task), task.element_id)
