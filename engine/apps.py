from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Process engine"

    def ready(self):
        from . import signals

        signals.connect()
