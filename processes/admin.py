from django.contrib import admin

from .models import ProcessDefinition


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "name", "agency", "deployed_by", "deployed_at"]
    list_filter = ["agency", "key"]
    readonly_fields = ["sha256", "bpmn_xml"]
