"""Keeping per-object caches honest: a user object forgets its group ids when its groups change."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed

from .selectors import USER_GROUP_IDS_CACHE


def _user_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """``user.groups.add/remove/clear/set``: that user object reads its groups again. (Through the group,
    ``group.user_set.add``, the users are other objects: they read theirs on their next load.)"""
    if action.startswith("post_") and not reverse:
        instance.__dict__.pop(USER_GROUP_IDS_CACHE, None)


def connect():
    m2m_changed.connect(_user_groups_changed, sender=get_user_model().groups.through,
                        dispatch_uid="engine.user_groups_changed")
