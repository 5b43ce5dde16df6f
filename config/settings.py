"""Django settings.

Everything that differs between the embedded default and production comes from the environment:

- ``DATABASE_URL``: default ``sqlite:///var/db.sqlite3``; production ``postgres://user@host:5432/name``.
- ``CELERY_BROKER_URL``: unset means the embedded mode (no broker; timers are swept by a thread in the
  server process). Set it (``redis://...`` or ``amqp://...``) to run timers on Celery workers and beat.
- ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``: the usual.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ENGINE_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-embedded-default-change-me-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "engine",
    "processes",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_config():
    url = os.environ.get("DATABASE_URL")
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # SQLite has no row locks: take the write lock when a transaction starts, so two service
        # calls on the same instance run one after the other instead of both reading stale state.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded documents (engine.models.Document). Never served from a URL: downloads go through the API,
# which checks who may see each document.
MEDIA_ROOT = Path(os.environ.get("ENGINE_MEDIA_ROOT", VAR_DIR / "media"))

DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# Uploads are refused as they arrive once a file or the request passes these (api/uploads.py); the
# checks of each kind of file (BPMN 5 MiB, ENGINE_DOCUMENT_MAX_BYTES for documents) follow.
FILE_UPLOAD_HANDLERS = [
    "api.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.engine_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_RATES": {"tracking": os.environ.get("ENGINE_TRACKING_RATE", "30/minute")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Bureau workflow engine API",
    "DESCRIPTION": "Deploy BPMN procedures, run applications, work the officer inbox, read the history.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# The cache backs rate limits (citizen tracking). Share one between API processes in production.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery (production mode) ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"

# --- Engine ---
# How often due timers are looked for, in seconds (Celery beat in production, a thread when embedded).
ENGINE_TIMER_SWEEP_SECONDS = float(os.environ.get("ENGINE_TIMER_SWEEP_SECONDS", "1.0"))
# How many due timers one sweep takes at most; the rest wait for the next sweep.
ENGINE_TIMER_SWEEP_BATCH = int(os.environ.get("ENGINE_TIMER_SWEEP_BATCH", "500"))
# With Celery: how many due timers one sweep task claims and fires itself. A full batch queues the next
# sweep first, so every free worker takes a batch; smaller batches spread a burst over more workers.
ENGINE_TIMER_TASK_BATCH = int(os.environ.get("ENGINE_TIMER_TASK_BATCH", "50"))
ENGINE_EMBEDDED = not CELERY_BROKER_URL
# How often the inbox counters' delta rows are folded into one row per key (engine.services.inbox_counts).
ENGINE_INBOX_COMPACT_SECONDS = float(os.environ.get("ENGINE_INBOX_COMPACT_SECONDS", "30"))

CELERY_BEAT_SCHEDULE = {
    "sweep-due-timers": {
        "task": "engine.tasks.sweep_due_timers",
        "schedule": ENGINE_TIMER_SWEEP_SECONDS,
        # A tick that waited this long in the queue is dropped: the workers are busy with the sweeps that
        # a full batch queues (engine.tasks), and stale ticks would only pile up behind them.
        "options": {"expires": 10 * ENGINE_TIMER_SWEEP_SECONDS},
    },
    "compact-inbox-counts": {
        "task": "engine.tasks.compact_inbox_counts",
        "schedule": ENGINE_INBOX_COMPACT_SECONDS,
        "options": {"expires": ENGINE_INBOX_COMPACT_SECONDS},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "spiff": {"level": "WARNING"},
    },
}
# The agency that bundled processes and imports belong to unless a command names another.
ENGINE_DEFAULT_AGENCY = os.environ.get("ENGINE_DEFAULT_AGENCY", "demo")
ENGINE_DEFAULT_AGENCY_NAME = os.environ.get("ENGINE_DEFAULT_AGENCY_NAME", "Kantor Pelayanan Demo")
# Lanes whose tasks go to the citizen who applied (the instance's applicant).
ENGINE_APPLICANT_LANES = ["Applicant", "Pemohon", "Citizen", "Warga"]
# Documents attached to applications and tasks: the largest file accepted, and the accepted types
# (each is checked by extension, declared type and leading bytes; see engine/filetypes.py).
ENGINE_DOCUMENT_MAX_BYTES = int(os.environ.get("ENGINE_DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024)))
# The largest file any upload may carry, and the most a request may carry in all (api/uploads.py).
ENGINE_UPLOAD_MAX_BYTES = int(os.environ.get("ENGINE_UPLOAD_MAX_BYTES", str(max(ENGINE_DOCUMENT_MAX_BYTES,
                                                                                5 * 1024 * 1024))))
ENGINE_UPLOAD_REQUEST_MAX_BYTES = int(os.environ.get("ENGINE_UPLOAD_REQUEST_MAX_BYTES",
                                                     str(4 * ENGINE_UPLOAD_MAX_BYTES)))
ENGINE_DOCUMENT_TYPES = ["application/pdf", "image/png", "image/jpeg", "image/tiff", "image/webp"]
# What happens once when a task passes its due date, unless its model says otherwise: notify, none, reassign:<group>.
ENGINE_DEFAULT_ESCALATION = os.environ.get("ENGINE_DEFAULT_ESCALATION", "notify")
