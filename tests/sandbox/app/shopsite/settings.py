"""Settings of the sandbox shop.

Deployment-specific values and secrets come from the release's `.env` (a link to the
host's shared/.env, Capistrano style); SHOP_* environment variables override it.
"""
import os
from pathlib import Path

import pymysql
from django.core.exceptions import ImproperlyConfigured

# PyMySQL stands in for mysqlclient (no C build needed).
pymysql.install_as_MySQLdb()

BASE_DIR = Path(__file__).resolve().parent.parent


def _read_env_file(path):
    values = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


_ENV = _read_env_file(BASE_DIR / ".env")
_ENV.update({k: v for k, v in os.environ.items() if k.startswith("SHOP_")})


def env(key, default=None):
    value = _ENV.get(key, default)
    if value is None:
        raise ImproperlyConfigured(f"{key} is not set (the release's .env or the environment)")
    return value


SECRET_KEY = env("SHOP_SECRET_KEY")
DEBUG = env("SHOP_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in env("SHOP_ALLOWED_HOSTS", "localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "silk",
    "shop",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "silk.middleware.SilkyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shopsite.middleware.version_header",
]

ROOT_URLCONF = "shopsite.urls"
WSGI_APPLICATION = "shopsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env("SHOP_DB_HOST"),
        "PORT": env("SHOP_DB_PORT", "5432"),
        "NAME": env("SHOP_DB_NAME", "shop"),
        "USER": env("SHOP_DB_USER", "shop"),
        "PASSWORD": env("SHOP_DB_PASSWORD"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"application_name": "shop"},
    },
    "reports": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": env("SHOP_REPORTS_DB_HOST"),
        "PORT": env("SHOP_REPORTS_DB_PORT", "3306"),
        "NAME": env("SHOP_REPORTS_DB_NAME", "shop_reports"),
        "USER": env("SHOP_REPORTS_DB_USER", "shop"),
        "PASSWORD": env("SHOP_REPORTS_DB_PASSWORD"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"charset": "utf8mb4"},
    },
}
DATABASE_ROUTERS = ["shopsite.routers.ReportsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# collectstatic writes into the release (public/static); nginx serves it with far-future
# cache headers, so file names carry a content hash.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "public" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# nginx terminates TLS and says so.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# django-silk records every request (and its SQL) into the default database.
SILKY_PYTHON_PROFILER = False
SILKY_META = True
SILKY_INTERCEPT_PERCENT = 100
SILKY_MAX_REQUEST_BODY_SIZE = 4096
SILKY_MAX_RESPONSE_BODY_SIZE = 4096
SILKY_MAX_RECORDED_REQUESTS = 100_000
SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"shop": {"level": "INFO"}},
}
