"""Search over customer records (`q` of the lists): names, emails, phones and company name.

Each record keeps one normalised `search_document` (written by the services, or by bulk loaders
through `contact_search_document` / `account_search_document`). What queries it differs by
database, behind `search_filter`:

- SQLite: an FTS5 external-content table per model (`unicode61 remove_diacritics 2`, prefix
  indexes of 2 and 3 characters), kept in sync by triggers so plain bulk inserts are indexed
  too. Every query token is a prefix match of a word. Results are never ordered by rank: on
  short prefixes that costs hundreds of milliseconds at a million rows (PITFALLS.md); the list's
  own sort order applies instead.
- PostgreSQL: a GIN trigram index on `search_document`; a token of three characters or more is
  a substring match (`LIKE '%tok%'`), a shorter one a word-start match (`LIKE 'tok%' OR
  LIKE '% tok%'`), because trigrams need the word boundary to use the index for one or two
  characters.

Both sides compare normalised text (`core.search.normalize_text`), so `jose` finds José.
"""

# SQL here is built only from the table names in FTS_TABLES; values always go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import phonenumbers
from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from vinculo.core.search import normalize_text

# unicode61 splits on everything that is not a letter or a digit; so do we, so that a query is
# cut into the same words the index holds.
_TOKEN_RE = re.compile(r"[^\W_]+")
# The same cut for ASCII text, as bytes (str.translate takes five times as long): what is
# not a letter or a digit becomes a space.
_ASCII_WORD_BYTES = bytes(c if c < 128 and chr(c).isalnum() else 32 for c in range(256))
MAX_QUERY_TOKENS = 8
MAX_TOKEN_LENGTH = 64
# PostgreSQL trigrams: below this length a token can only use the index at a word start.
TRIGRAM_MIN = 3

FTS_TABLES = {
    "contacts_contact": "contacts_contact_fts",
    "contacts_account": "contacts_account_fts",
}


def query_tokens(q: str | None) -> list[str]:
    """The words of a search box, normalised like the documents."""
    tokens = _TOKEN_RE.findall(normalize_text(q))
    return [t[:MAX_TOKEN_LENGTH] for t in tokens[:MAX_QUERY_TOKENS]]


# Country code → length of the area code, for the numbering plans most of our customers use.
# The library takes about 75 µs a number to split and format, which a bulk load of a million
# contacts cannot afford; these two plans are regular enough to split by hand.
_AREA_CODE_LENGTH = {"55": 2, "1": 3}


@lru_cache(maxsize=65536)
def phone_search_terms(e164: str) -> tuple[str, ...]:
    """The forms people type a stored phone in: E.164 digits with and without the country code,
    without the area code, and the groups of the national format ("98765", "4321"), so that a
    leading fragment of any of them finds the record."""
    digits = e164.removeprefix("+")
    if not digits.isdigit():
        return (e164,) if e164 else ()
    for country, area in _AREA_CODE_LENGTH.items():
        if digits.startswith(country) and len(digits) - len(country) > area + 4:
            national = digits[len(country) :]
            subscriber = national[area:]
            return (digits, national, subscriber, subscriber[:-4], subscriber[-4:])
    try:
        number = phonenumbers.parse(f"+{digits}", None)
    except phonenumbers.NumberParseException:
        return (digits,)
    national = phonenumbers.national_significant_number(number)
    terms = [digits, national]
    area = phonenumbers.length_of_national_destination_code(number)
    if 0 < area < len(national):
        terms.append(national[area:])
    terms.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    return tuple(terms)


def _document(parts: Iterable[str | None]) -> str:
    """The normalised words of `parts`, each once, separated by single spaces. Punctuation
    goes (an address becomes "ana example com"): queries are cut into words the same way, and
    on PostgreSQL a short word can then be matched at a word start after a space.

    The words of `build_search_document(*parts)`, computed with less work because an import
    builds a million of these: plain ASCII parts (addresses, phone digits) are only
    lower-cased, since the word pattern drops the whitespace that normalising collapses, and
    the others (names with accents, which repeat) go through the cached normalisation."""
    folded = " ".join(
        part.lower() if part.isascii() else normalize_text(part) for part in parts if part
    )
    if folded.isascii():  # the usual case, four times as fast as the word pattern
        words = folded.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii").split()
    else:
        words = _TOKEN_RE.findall(folded)
    return " ".join(dict.fromkeys(words))


def contact_search_document(
    *,
    first_name: str = "",
    last_name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    company: str = "",
) -> str:
    """The `search_document` of a contact. Phones are E.164, as the services store them."""
    phone_terms = [term for phone in phones for term in phone_search_terms(phone)]
    return _document([first_name, last_name, *emails, *phone_terms, company])


def account_search_document(*, name: str = "", domain: str = "", phone: str = "") -> str:
    """The `search_document` of an account."""
    return _document([name, domain, *phone_search_terms(phone)])


def contact_sort_name(*, first_name: str, last_name: str, email: str) -> str:
    first, last = first_name.strip(), last_name.strip()
    name = f"{first} {last}" if first and last else first or last
    return normalize_text(name or email)[:300]


def account_sort_name(*, name: str) -> str:
    return normalize_text(name)[:300]


def search_filter(qs: QuerySet[Any], q: str | None) -> QuerySet[Any]:
    """Narrow `qs` (contacts or accounts) to rows matching every word of `q`. A blank `q`
    leaves `qs` alone; a `q` with no word in it (only punctuation) matches nothing."""
    if q is None or not q.strip():
        return qs
    tokens = query_tokens(q)
    if not tokens:
        return qs.none()
    vendor = connections[qs.db].vendor
    table = qs.model._meta.db_table
    if vendor == "sqlite" and table in FTS_TABLES:
        fts = FTS_TABLES[table]
        # Each token quoted (it holds only letters and digits) and made a prefix query; FTS5
        # joins the terms with AND.
        match = " ".join(f'"{t}"*' for t in tokens)
        return qs.filter(
            pk__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", (match,))  # noqa: S611
        )
    condition = Q()
    for token in tokens:
        if len(token) >= TRIGRAM_MIN:
            condition &= Q(search_document__contains=token)
        else:
            condition &= Q(search_document__startswith=token) | Q(
                search_document__contains=f" {token}"
            )
    return qs.filter(condition)


# --- SQLite upkeep -------------------------------------------------------------------------------


def _sqlite_trigger_sql(table: str, fts: str) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN
            INSERT INTO {fts}(rowid, search_document) VALUES (new.id, new.search_document);
        END""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, search_document)
            VALUES ('delete', old.id, old.search_document);
        END""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF search_document ON {table}
        WHEN old.search_document IS NOT new.search_document BEGIN
            INSERT INTO {fts}({fts}, rowid, search_document)
            VALUES ('delete', old.id, old.search_document);
            INSERT INTO {fts}(rowid, search_document) VALUES (new.id, new.search_document);
        END""",
    ]


def sqlite_fts_ensure(connection: Any) -> bool:
    """Recreate missing FTS triggers; True when some were missing (and the index rebuilt).

    Django's SQLite schema editor rebuilds a table (copy, drop, rename) for most column
    changes, and dropping the table drops its triggers with it. Run after every migration, so a
    later migration of the contacts tables cannot leave the search index silently stale.
    """
    if connection.vendor != "sqlite":
        return False
    repaired = False
    with connection.cursor() as cursor:
        for table, fts in FTS_TABLES.items():
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
                [fts, f"{fts}_ai", f"{fts}_ad", f"{fts}_au"],
            )
            present = {row[0] for row in cursor.fetchall()}
            if fts not in present or len(present) == 4:
                continue
            for sql in _sqlite_trigger_sql(table, fts):
                cursor.execute(sql)
            # Rows written while the triggers were gone are not in the index.
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            repaired = True
    return repaired


def search_index_rebuild(*, using: str = "default") -> None:
    """Rebuild the SQLite full-text indexes from the tables (a repair tool; PostgreSQL's
    trigram indexes are ordinary indexes and need nothing)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for fts in FTS_TABLES.values():
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
