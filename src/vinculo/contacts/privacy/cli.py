"""`vinculo` sub-commands of privacy. Imports nothing of Django until a command runs."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    """Add this area's sub-commands to the `vinculo` parser's sub-parsers."""
    del sub


def _unused(args: argparse.Namespace) -> int:
    del args
    return 0
