"""Month names as Brazilian Portuguese writes them in a date: in lower case ("25 de novembro
de 2026"). Django's own catalogue capitalises them; listing the names here puts them in the
shell's catalogue, which takes precedence over Django's, so every `DATE_FORMAT` follows the
language's spelling. Nothing imports this module: it exists for `makemessages`."""

from django.utils.translation import gettext_noop

MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
