"""Token authentication that reads the user's membership (agency and role) with the token."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Token <key>`` header; the token, its user and the user's membership in one query.

    Nearly every request asks the membership next (who sees what, who may do what), so joining it here
    saves a query per request; a user without one gets ``None`` cached, which ``membership_of`` reads.
    """

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__membership").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
