"""Settings of Vínculo, read from environment variables (DESIGN §1).

The embedded default needs no configuration at all: SQLite in the data directory, the database
task backend and mail written to files. Production runs (`VINCULO_ENV=production`) refuse unsafe
combinations at start-up, see `vinculo.core.checks`.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import environ
from django.utils.translation import gettext_lazy as _

env = environ.Env()

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env.str("VINCULO_DATA_DIR", default=str(Path.cwd() / "var"))).resolve()
VINCULO_ENV = env.str("VINCULO_ENV", default="development")
GENERATED_SECRET_KEY_FILE = DATA_DIR / "secret-key.txt"


def _generated_secret_key() -> str:
    """A key generated once per data directory, so sessions survive restarts."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if not GENERATED_SECRET_KEY_FILE.exists():
        GENERATED_SECRET_KEY_FILE.write_text(secrets.token_urlsafe(50))
        GENERATED_SECRET_KEY_FILE.chmod(0o600)
    return GENERATED_SECRET_KEY_FILE.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _generated_secret_key()
SECRET_KEY_IS_GENERATED = not env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=VINCULO_ENV != "production")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[]
    if VINCULO_ENV == "production"
    else ["127.0.0.1", "localhost", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_cotton",
    "django_tasks_db",
    # Before allauth so that our templates override its pages.
    "vinculo.web",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "vinculo.core",
    "vinculo.contacts",
    "vinculo.timeline",
    "vinculo.collab",
    "vinculo.automation",
    "vinculo.sales",
    "vinculo.marketing",
    "vinculo.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "vinculo.core.middleware.WorkspaceMiddleware",
    "vinculo.web.middleware.UserPreferencesMiddleware",
    # Innermost, so it also sees the 404/405 answered before the API routes a request.
    "vinculo.core.api_support.ApiProblemMiddleware",
]

ROOT_URLCONF = "vinculo.urls"
WSGI_APPLICATION = "vinculo.wsgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vinculo.web.shell.shell",
            ],
        },
    }
]

# --- database ------------------------------------------------------------------------------
# SQLite settings that let the web server and the worker write at the same time without
# "database is locked": WAL, a busy timeout and IMMEDIATE transactions (PITFALLS.md).
SQLITE_OPTIONS = {
    "init_command": (
        "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
        "PRAGMA busy_timeout=10000;PRAGMA foreign_keys=ON;PRAGMA cache_size=-64000;"
    ),
    "transaction_mode": "IMMEDIATE",
}


def database_from_url(url: str) -> dict:
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    else:
        config.setdefault("CONN_MAX_AGE", 60)
        config.setdefault("CONN_HEALTH_CHECKS", True)
    return config


DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'vinculo.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL)}

# --- cache and background work ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- email (Django 6.1 MAILERS; EMAIL_BACKEND must not be set alongside it) -----------------
MAIL_DIR = DATA_DIR / "mail"


def mailer_from_url(url: str) -> dict:
    """`smtp://user:pass@host:587?tls=1`, `smtps://…`, `console://`, `file:///path`, `memory://`."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme in {"smtp", "smtps", "smtp+tls", "submission"}:
        options: dict[str, object] = {
            "host": parts.hostname or "localhost",
            "port": parts.port
            or (465 if parts.scheme == "smtps" else 587 if parts.scheme != "smtp" else 25),
            "use_ssl": parts.scheme == "smtps",
            "use_tls": parts.scheme in {"smtp+tls", "submission"}
            or query.get("tls") in {"1", "true"},
        }
        if parts.username:
            options["username"] = unquote(parts.username)
            options["password"] = unquote(parts.password or "")
        return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "memory":
        return {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parts.scheme == "file":
        return {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": parts.path or str(MAIL_DIR)},
        }
    raise ValueError(f"EMAIL_URL: unsupported scheme {parts.scheme!r}")


MAILERS = {"default": mailer_from_url(env.str("EMAIL_URL", default=f"file://{MAIL_DIR}"))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Vínculo <no-reply@localhost>")

# --- auth ----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SIGNUP_ENABLED = False
ACCOUNT_ADAPTER = "vinculo.core.auth.AccountAdapter"
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = {"login_failed": "10/m/ip,5/5m/key"}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Accounts come from admins and invitations (the emailed link proves the address), never from
# sign-up, so two-factor enrolment does not wait for a separate address verification.
MFA_ALLOW_UNVERIFIED_EMAIL = True
MFA_TOTP_ISSUER = "Vínculo"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Vínculo · "
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_SAVE_EVERY_REQUEST = False
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- security ------------------------------------------------------------------------------
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the meta tag, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if VINCULO_ENV == "production":
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Request bodies: the API refuses anything larger than this with 413 (see core.api_errors).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
API_MAX_JSON_DEPTH = 32

# --- i18n ----------------------------------------------------------------------------------
LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", _("Portuguese (Brazil)")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

# --- static files --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {"vinculo": {"level": env.str("LOG_LEVEL", default="INFO")}},
}

# --- Vínculo -------------------------------------------------------------------------------
# Extra event subscribers, as dotted paths of modules that register on import (used by tests
# that need a subscriber of their own in a separate worker process).
VINCULO_EXTRA_SUBSCRIBER_MODULES = env.list("VINCULO_EXTRA_SUBSCRIBER_MODULES", default=[])
# A worker that has not written its heartbeat for this long is reported "stale" by /healthz.
WORKER_HEARTBEAT_SECONDS = 10
WORKER_STALE_AFTER_SECONDS = 60
SOFT_DELETE_RETENTION_DAYS = 30
# Largest file an import accepts (CSV or XLSX), in bytes.
VINCULO_IMPORT_MAX_BYTES = env.int("VINCULO_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
# How many reverse proxies stand in front of the web server: the client's address used by rate
# limits (public forms, quote answers) is then read from X-Forwarded-For, that many hops back.
VINCULO_TRUSTED_PROXIES = env.int("VINCULO_TRUSTED_PROXIES", default=0)
