"""What browser tests share, wherever they live: Playwright for Python driving Debian's Chromium
against a live server (fixtures `browser` and `page`, loaded for the whole suite from
tests/conftest.py), screenshots, axe-core and logging in.

Never `playwright install`: the browser is /usr/bin/chromium (installed by .ci/run when missing).
Screenshots of each page go to test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to
# arrange data are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing (apt-get install -y chromium)")
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base_url = live_server.url  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: _record_console_error(problems, msg))
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not problems, f"the browser reported problems: {problems}"


def _record_console_error(problems: list[str], msg) -> None:
    # A 422 is how a form says "fix these fields": expected, not a fault of the page.
    if msg.type == "error" and "status of 422" not in msg.text:
        problems.append(f"console {msg.type}: {msg.text}")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # caret="initial": hiding the caret injects a <style> element, which our CSP refuses.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def axe_violations(
    page, *, impacts: frozenset[str] = frozenset({"serious", "critical"})
) -> list[dict]:
    """Run axe-core (from npm) on the current page; returns serious and critical violations."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:3]],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def log_in(page, email: str, password: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/")
