"""The customer's link to a quote: /q/<token>, where the token is a value signed with the
site's secret over (workspace id, quote id, public key).

Nothing is stored for the link itself: the quote's `public_key` is part of the signed value,
so sending the quote again (a fresh key) makes every earlier link stop working, and a token
changed by hand fails its signature. Both answer 404, like a quote that never existed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from vinculo.sales.models import Quote

SALT = "vinculo.sales.quote-link"


@dataclass(frozen=True)
class LinkTarget:
    workspace_id: int
    quote_id: int
    public_key: str


def public_token(quote: Quote) -> str:
    # No timestamp: the link lives as long as the key, and the same quote always gets the
    # same link (the email, the page and the API show one address).
    return signing.Signer(salt=SALT).sign_object(
        [quote.workspace_id, quote.pk, quote.public_key], compress=False
    )


def public_path(quote: Quote) -> str:
    return reverse("sales:quote_public", args=[public_token(quote)])


def read_token(token: str) -> LinkTarget | None:
    """What a token points at, or None when it is not one we signed."""
    if not token or len(token) > 400:
        return None
    try:
        value = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        # ValueError covers JSON or compression that does not read (a token made by hand).
        return None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value[:2])
        or not isinstance(value[2], str)
        or not value[2]
    ):
        return None
    return LinkTarget(workspace_id=value[0], quote_id=value[1], public_key=value[2])
