"""Videopipe settings.

Everything is read from the environment. With no environment at all the app
runs embedded (SQLite, in-process Dramatiq worker, in-memory channel layer,
media on local disk); production sets DATABASE_URL, REDIS_URL, S3 and secrets.
Every helper fails loudly on a value it cannot parse, because a typo in
production configuration must stop the process, not silently fall back.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, *, schemes: tuple[str, ...]) -> str:
    raw = env_str(name)
    if not raw:
        return ""
    parts = urlsplit(raw)
    # sqlite:////path/to/db has no host; every other scheme needs one.
    if parts.scheme not in schemes or not (parts.netloc or (parts.scheme == "sqlite" and parts.path)):
        raise ImproperlyConfigured(f"{name} must be a URL with scheme {' or '.join(schemes)}, got {raw!r}")
    return raw


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0")
    SECRET_KEY = "embedded-development-key-never-use-in-production-3f9a7c1e5b2d8f4a6c0e"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=0")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS entries need a scheme, got {_origin!r}")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    "django_dramatiq",
    "projects",
    "generation",
    "storyboard",
    "editor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "videopipe.urls"
WSGI_APPLICATION = "videopipe.wsgi.application"
ASGI_APPLICATION = "videopipe.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "projects.context_processors.workspace",
            ],
        },
    },
]

# Database: SQLite unless DATABASE_URL is set. WAL plus IMMEDIATE transactions
# let the in-process worker threads write beside web requests without
# "database is locked" errors.
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL connections come from a pool bounded per process: under Daphne every request runs on a
    # thread of its own, and persistent per-thread connections ran PostgreSQL out of slots (issue 16).
    # Size it so (web + worker processes) x DB_POOL_MAX_SIZE stays under max_connections.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", default=True):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django returns them
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 1, minimum=0),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10, minimum=1),
            # A request waits this long for a free connection before failing with an error.
            "timeout": env_int("DB_POOL_TIMEOUT", 20, minimum=1),
        }
    # One test database per test run (its processes inherit the token), so parallel runs never drop each other's.
    _run = os.environ.setdefault("VIDEOPIPE_TEST_RUN", str(os.getpid()))
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_run}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": Path(env_str("SQLITE_PATH") or BASE_DIR / "db.sqlite3"),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, like the real embedded database: in-memory SQLite's shared cache
            # fails concurrent writers at once instead of waiting for the lock. One file per
            # test run (its processes inherit the token), so two runs on one checkout never share it.
            "TEST": {"NAME": BASE_DIR / f".test-db-{os.environ.setdefault('VIDEOPIPE_TEST_RUN', str(os.getpid()))}.db"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Login and sign-up throttling (projects/throttle.py): failures per account and per address in a window.
AUTH_THROTTLE_MINUTES = env_int("AUTH_THROTTLE_MINUTES", 15, minimum=1)
AUTH_THROTTLE_PER_ACCOUNT = env_int("AUTH_THROTTLE_PER_ACCOUNT", 5, minimum=1)
AUTH_THROTTLE_PER_ADDRESS = env_int("AUTH_THROTTLE_PER_ADDRESS", 30, minimum=1)
AUTH_THROTTLE_SIGNUPS_PER_ADDRESS = env_int("AUTH_THROTTLE_SIGNUPS_PER_ADDRESS", 10, minimum=1)

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Dramatiq: Redis in production, the StubBroker otherwise. With the stub the
# web process runs the worker threads itself (see videopipe/broker.py).
_DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "videopipe.broker.PeriodicTicker",
]
if REDIS_URL:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {"url": REDIS_URL, "namespace": env_str("DRAMATIQ_NAMESPACE", "videopipe")},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
else:
    DRAMATIQ_BROKER = {"BROKER": "dramatiq.brokers.stub.StubBroker", "OPTIONS": {}, "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
EMBEDDED_WORKER = env_bool("EMBEDDED_WORKER", default=not REDIS_URL)
EMBEDDED_WORKER_THREADS = env_int("EMBEDDED_WORKER_THREADS", 8, minimum=1)

# Media: local disk by default, S3 or R2 when a bucket is configured.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_url("AWS_S3_ENDPOINT_URL", schemes=("https", "http")) or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            # Media is private: every URL handed to a browser is presigned and short-lived.
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600, minimum=60),
            # botocore presigns with legacy SigV2 in us-east-1 or with no region set; R2 and
            # buckets made since 2020 refuse SigV2, so every presigned URL would answer 403.
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Security: production defaults are strict; DEBUG relaxes only what breaks plain-HTTP development.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that always sets X-Forwarded-Proto itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True

# Uploads stream to disk above 2.5 MB; request bodies stay bounded.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)

UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Every decode holds what its header says it needs out of IMAGE_DECODE_BUDGET_MB (projects/imaging.py: about
# 4 bytes a pixel for a baseline JPEG, portraits stored sideways included, 8 for an RGBA PNG, 16 for WebP), so
# all decodes in a process hold at most that; an upload needing more is refused, naming the largest size that
# fits. Daphne (140 MB at rest) peaked at 349 MB decoding six pictures at the budget with ten 50 MB bodies in
# hand. 25 MP takes a 12 MP phone photo (4032 x 3024, 53 MB) and a 24 MP camera's (6000 x 4000, 100 MB) as
# JPEG; an RGBA PNG fits up to 19.4 MP, an RGBA WebP up to 9.6 MP.
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 25_000_000, minimum=10_000)
IMAGE_DECODE_BUDGET_MB = env_int("IMAGE_DECODE_BUDGET_MB", 160, minimum=1)
# Request bodies over their route's limit are refused with 413 before they are read (videopipe/bodylimit.py):
# uploads up to their caps plus 64 KB, the webhook 1 MB, the anonymous pages (login, sign-up) this much,
# everything else DATA_UPLOAD_MAX_MEMORY_SIZE.
ANONYMOUS_BODY_MAX_BYTES = env_int("ANONYMOUS_BODY_MAX_BYTES", 64 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", schemes=("https", "http")).rstrip("/")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


# Providers. Without a token the offline providers make every asset; "auto"
# picks the API provider when its credentials are set.
REPLICATE_API_TOKEN = env_str("REPLICATE_API_TOKEN")
REPLICATE_BASE_URL = env_url("REPLICATE_BASE_URL", schemes=("https", "http")) or "https://api.replicate.com"
REPLICATE_TIMEOUT_SECONDS = env_int("REPLICATE_TIMEOUT_SECONDS", 60, minimum=1)
REPLICATE_WEBHOOK_SECRET = env_str("REPLICATE_WEBHOOK_SECRET")
if REPLICATE_WEBHOOK_SECRET and not REPLICATE_WEBHOOK_SECRET.startswith("whsec_"):
    raise ImproperlyConfigured("REPLICATE_WEBHOOK_SECRET must be the whsec_… secret Replicate shows for your account")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", schemes=("https", "http"))
_PROVIDER_CHOICES = ("auto", "offline", "replicate", "openai")
PROVIDERS = {
    capability: env_choice(f"PROVIDER_{capability.upper()}", "auto", _PROVIDER_CHOICES)
    for capability in ("text", "image", "refine", "video", "speech", "music", "lipsync")
}

# Jobs: retries with capped exponential backoff; the sweeper recovers the rest.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 5, minimum=1)
JOB_BACKOFF_SECONDS = env_int("JOB_BACKOFF_SECONDS", 2, minimum=0)
JOB_BACKOFF_CAP_SECONDS = env_int("JOB_BACKOFF_CAP_SECONDS", 300, minimum=1)
JOB_DEADLINE_MINUTES = env_int("JOB_DEADLINE_MINUTES", 30, minimum=1)
# The lease outlives the longest create call (the client's timeout plus a margin) so no second
# worker submits while the first may still get its answer; the sweep's figures keep every job
# terminal or re-enqueued within 2 minutes of a crash (lease + interval, or quiet + interval).
JOB_SUBMIT_LEASE_SECONDS = env_int("JOB_SUBMIT_LEASE_SECONDS", REPLICATE_TIMEOUT_SECONDS + 15, minimum=2)
JOB_POLL_SECONDS = env_int("JOB_POLL_SECONDS", 3, minimum=1)
SWEEP_QUIET_SECONDS = env_int("SWEEP_QUIET_SECONDS", 45, minimum=2)
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 20, minimum=1)
PERIODIC_TICK_SECONDS = env_int("PERIODIC_TICK_SECONDS", 5, minimum=1)
SWEEPER_AUTOSTART = env_bool("SWEEPER_AUTOSTART", default=True)
# Storage policy for segment versions: rejected versions older than this many days,
# beyond each shot's last SEGMENT_KEEP_VERSIONS, lose their files (never approved or current ones).
SEGMENT_CLEANUP_DAYS = env_int("SEGMENT_CLEANUP_DAYS", 7, minimum=0)
SEGMENT_KEEP_VERSIONS = env_int("SEGMENT_KEEP_VERSIONS", 3, minimum=0)
# Stored files no row names (a crash between writing a file and committing its row) are deleted once
# older than this; the margin keeps a write whose commit is about to happen (generation/orphans.py).
ORPHAN_FILE_GRACE_MINUTES = env_int("ORPHAN_FILE_GRACE_MINUTES", 60, minimum=1)
LIVE_PROGRESS_THROTTLE_SECONDS = float(env_int("LIVE_PROGRESS_THROTTLE_MS", 500, minimum=0)) / 1000

# Media ingest: provider outputs are fetched from these hosts only (and their subdomains).
INGEST_ALLOWED_HOSTS = env_list("INGEST_ALLOWED_HOSTS", ["replicate.delivery"])
INGEST_MAX_BYTES = env_int("INGEST_MAX_BYTES", 500 * 1024 * 1024, minimum=1024)
INGEST_TIMEOUT_SECONDS = env_int("INGEST_TIMEOUT_SECONDS", 120, minimum=1)
# Only for tests against local fake servers; never set in production.
INGEST_ALLOW_INSECURE_LOCAL = env_bool("INGEST_ALLOW_INSECURE_LOCAL", default=False)

DEMO_USERNAME = env_str("DEMO_USERNAME", "demo")
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "videopipe-demo")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Sound and compile.
# Burned-in captions are drawn by libass with this font folder (Debian's fonts-dejavu-core); blank lets
# libass ask fontconfig.
CAPTION_FONTS_DIR = env_str(
    "CAPTION_FONTS_DIR",
    "/usr/share/fonts/truetype/dejavu" if Path("/usr/share/fonts/truetype/dejavu").is_dir() else "",
)
# Compiles run in a worker's scratch folder; a failed or cancelled compile leaves nothing behind.
COMPILE_TIME_LIMIT_MINUTES = env_int("COMPILE_TIME_LIMIT_MINUTES", 60, minimum=1)
MUSIC_UPLOAD_MAX_MB = env_int("MUSIC_UPLOAD_MAX_MB", 50, minimum=1)
