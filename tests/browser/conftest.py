"""Browser tests: every test under tests/browser/ is marked `browser` (the PostgreSQL run of CI
leaves them out). The fixtures and helpers live in tests/support/browser.py, loaded for the
whole suite, so browser tests beside other modules' tests share one Chromium per worker."""

from __future__ import annotations

import pytest

from tests.support.browser import axe_violations, log_in, screenshot

__all__ = ["axe_violations", "log_in", "screenshot"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
