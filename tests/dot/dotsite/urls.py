from django.urls import include, path

from oauth2_provider import urls as dot_urls

from . import views

urlpatterns = [
    path("login", views.login_page),
    # The issuer is <origin>/o; RFC 8414 §3.1 puts its metadata at the origin's
    # /.well-known/oauth-authorization-server/o, so those routes go at the root too.
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_provider_root"))),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
