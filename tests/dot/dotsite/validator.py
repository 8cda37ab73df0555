"""DOT's default validator, with the user's e-mail and name at userinfo only.

DOT's default ID token carries only `sub`; a deployment that wants more adds claims. This
one adds them to userinfo and leaves the ID token as DOT makes it, so the tests see a
provider whose identity is only in userinfo.
"""

from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    def get_userinfo_claims(self, request):
        claims = super().get_userinfo_claims(request)
        user = request.user
        if "email" in request.scopes:
            claims.update(email=user.email, email_verified=True)
        if "profile" in request.scopes:
            claims["name"] = user.first_name
        return claims
