"""Settings of the throwaway django-oauth-toolkit provider for Sesame's e2e tests.

NEVER deploy this: the secret key and the signing key are made per run, passwords are
hashed with a fast hasher, and the database is a per-test copy of a template. serve.py
sets the DOT_* variables read here before Django starts.
"""

import os
import secrets


def _num(name, default):
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default

SECRET_KEY = secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "dotsite.urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    # Before oauth2_provider: its templates (the login and consent pages) win.
    "dotsite",
    "oauth2_provider",
]
MIDDLEWARE = [
    "dotsite.stats.StatsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DOT_DB", ":memory:"),
        # Token requests of one test may come at once (single flight tests): wait for the
        # write lock rather than fail with "database is locked".
        "OPTIONS": {"timeout": 30},
    }
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ.get("DOT_RSA_PRIVATE_KEY", ""),
    "OIDC_ISS_ENDPOINT": os.environ.get("DOT_ISSUER", ""),
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only
    # `iss` on successful redirects (RFC 9207), advertised in both documents. DOT's error
    # redirects still come without it: the quirk Sesame must cope with.
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "ROTATE_REFRESH_TOKEN": os.environ.get("DOT_ROTATE", "1") != "0",
    "ACCESS_TOKEN_EXPIRE_SECONDS": _num("DOT_ACCESS_TOKEN_TTL", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": _num("DOT_REFRESH_TOKEN_TTL", 86400),
    # Like a real deployment: no offline_access (refresh tokens come anyway).
    "SCOPES": {
        "openid": "Sign you in",
        "email": "Your e-mail address",
        "profile": "Your name",
        "api:read": "Read the API",
        "api:write": "Write the API",
    },
    "DEFAULT_SCOPES": ["openid"],
    "REQUEST_APPROVAL_PROMPT": "force",
    "OAUTH2_VALIDATOR_CLASS": "dotsite.validator.Validator",
}
