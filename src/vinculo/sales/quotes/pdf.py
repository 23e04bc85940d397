"""The PDF of a quote, drawn by WeasyPrint from the printable HTML where it is installed.

WeasyPrint is optional (the `pdf` extra): it needs Pango and its fonts from the system. Where it
cannot be imported, or its libraries cannot be loaded, `pdf_available()` is False, the PDF
button is left out and the print view offers the browser's "Print or save as PDF".
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.staticfiles import finders

PRINT_STYLESHEET = "sales/quotes.print.css"


@cache
def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-not-found, unused-ignore]
    except (ImportError, OSError):
        # OSError: the package is there but Pango (or another system library) is not.
        return None
    return weasyprint


def pdf_available() -> bool:
    return _weasyprint() is not None


def html_to_pdf(html: str) -> bytes:
    """The PDF of a printable document (the print stylesheet applied, no network access:
    every resource it may fetch is refused)."""
    weasyprint = _weasyprint()
    if weasyprint is None:
        raise RuntimeError("WeasyPrint is not available")

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"no external resources in a quote PDF: {url[:80]}")

    stylesheet = finders.find(PRINT_STYLESHEET)
    sheets = [weasyprint.CSS(filename=stylesheet)] if stylesheet else []
    document = weasyprint.HTML(string=html, url_fetcher=refuse)
    return bytes(document.write_pdf(stylesheets=sheets))
