from django.urls import path
from rest_framework.routers import DefaultRouter

from . import analytics, calendars, documents, messages, views
from .notifications import NotificationViewSet
from .tracking import TrackingView

router = DefaultRouter()
router.trailing_slash = "/?"  # both /tasks/1/claim and /tasks/1/claim/ (and diagram.svg without one)
router.register("process-definitions", views.ProcessDefinitionViewSet, basename="process-definition")
router.register("process-instances", views.ProcessInstanceViewSet, basename="process-instance")
router.register("tasks", views.HumanTaskViewSet, basename="task")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("track/<str:code>/", TrackingView.as_view(), name="track"),
    *analytics.urlpatterns,
    *calendars.urlpatterns,
    *documents.urlpatterns,
    *messages.urlpatterns,
    *router.urls,
]
