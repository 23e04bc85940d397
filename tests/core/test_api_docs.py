"""The API describes itself: a valid OpenAPI document and a docs page that needs no CDN."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders

CORE_PATHS = {
    "/api/v1/me": {"get"},
    "/api/v1/tags": {"get", "post"},
    "/api/v1/tags/{tag_id}": {"get", "patch", "delete"},
    "/api/v1/tags/{tag_id}/restore": {"post"},
    "/api/v1/custom-fields": {"get", "post"},
    "/api/v1/custom-fields/{field_id}": {"get", "patch", "delete"},
    "/api/v1/custom-fields/{field_id}/restore": {"post"},
    "/api/v1/api-keys": {"get", "post"},
    "/api/v1/api-keys/{key_id}": {"delete"},
}


class _Assets(HTMLParser):
    """Every script and stylesheet a page loads, with its nonce; inline scripts too."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[tuple[str, str, str | None]] = []
        self.inline_scripts: list[dict[str, str | None]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.loaded.append((tag, a["src"] or "", a.get("nonce")))
            else:
                self._in_script = a
        elif tag == "link" and a.get("href"):
            self.loaded.append((tag, a["href"] or "", a.get("nonce")))
        elif tag == "img" and a.get("src"):
            self.loaded.append((tag, a["src"] or "", None))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.inline_scripts.append(self._in_script)
            self._in_script = None


def test_openapi_document_is_valid_json_listing_the_core_paths(client, db):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r["content-type"].startswith("application/json")
    document = json.loads(r.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Vínculo API"
    for path, methods in CORE_PATHS.items():
        assert path in document["paths"], path
        assert methods <= set(document["paths"][path]), path
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_docs_page_loads_nothing_from_outside_the_site(client, db):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assets = _Assets()
    assets.feed(html)
    assert assets.loaded, "the page should load Swagger UI"
    for _tag, url, _nonce in assets.loaded:
        assert not re.match(r"(?i)^(https?:)?//", url), f"{url} comes from outside the site"
    assert not re.search(r"(?i)(src|href)=[\"']?(https?:)?//", html)
    # Only data blocks are inline; code comes from files, so the CSP needs no 'unsafe-inline'.
    assert all(s.get("type") == "application/json" for s in assets.inline_scripts)
    # The validator badge would post the schema to validator.swagger.io.
    settings_json = re.search(r'id="swagger-settings"[^>]*>(.*?)</script>', html, re.S)
    assert settings_json is not None
    assert json.loads(settings_json.group(1))["validatorUrl"] is None


def test_docs_page_scripts_carry_the_csp_nonce(client, db):
    r = client.get("/api/v1/docs")
    policy = r["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None, policy
    assets = _Assets()
    assets.feed(r.content.decode())
    scripts = [(url, n) for tag, url, n in assets.loaded if tag == "script"]
    assert scripts
    assert all(n == nonce.group(1) for _url, n in scripts)


def test_docs_page_assets_are_shipped_with_the_package(client, db):
    assets = _Assets()
    assets.feed(client.get("/api/v1/docs").content.decode())
    for tag, url, _nonce in assets.loaded:
        if tag == "img" or url.startswith("data:"):
            continue
        assert url.startswith("/static/"), url
        relative = url.removeprefix("/static/")
        if finders.find(relative) is None:
            pytest.fail(
                f"{relative} is missing: run `npm install && node scripts/build_assets.mjs`"
            )
