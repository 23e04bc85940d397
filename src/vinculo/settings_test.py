"""Settings for the test suite: SQLite by default, PostgreSQL with VINCULO_TEST_DB=postgres.

Both use a database named after a random token so parallel runs never share data; pytest-django
creates `test_<name>[_gwN]` and drops it afterwards.

The SQLite test database is a file, not the in-memory default: with an in-memory database Django
hands the live server the test thread's own connection, and the browser tests (page requests,
the notification poll, the test's own queries) then use one SQLite connection from several
threads at once, which now and then returns rows of one query to another.
"""

import os
import secrets
import tempfile
from pathlib import Path

from vinculo.settings import *  # noqa: F403
from vinculo.settings import DATA_DIR, database_from_url

if os.environ.get("VINCULO_TEST_DB") == "postgres":
    _name = os.environ.setdefault("VINCULO_TEST_DB_NAME", f"vinculo_{secrets.token_hex(4)}")
    _url = os.environ.get(
        "VINCULO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
    )
    DATABASES = {"default": database_from_url(_url)}
    DATABASES["default"]["TEST"] = {"NAME": f"test_{_name}"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    _name = os.environ.setdefault("VINCULO_TEST_DB_NAME", f"vinculo_{secrets.token_hex(4)}")
    DATABASES = {"default": database_from_url(f"sqlite:///{DATA_DIR / 'test.sqlite3'}")}
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"test_{_name}.sqlite3")
    }

TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ACCOUNT_RATE_LIMITS = False
