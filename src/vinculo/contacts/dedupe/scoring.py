"""How alike two records are: pure functions, no database.

A pair of contacts scores high (95–100) when they share a normalised email address or phone
number, any of their addresses or numbers. Without one, a pair may still score by the
similarity of the names (rapidfuzz, after accents and case are stripped: "José Núñez" and
"jose nunez" are the same name) when something else ties them: the same company (account),
the same city, or the same company email domain. Free mail providers (gmail.com, …) tie
nobody together. A pair whose every address and every number differ is held back by a
penalty: two people with the same common name in the same city and different phones are
more likely namesakes than one person entered twice.

Accounts score high on the same domain or phone, and by name similarity (legal suffixes such
as "Ltda" and "S.A." left out) when they share the city or the phone.

Comparing every pair of a million records is out of the question, so names are compared only
inside blocks: the same account, the same company domain, or the same city and the same
first letters of the first and last names. Exact keys (emails, phones, domains) are grouped
in dictionaries. `contact_pairs` and `account_pairs` do that; `score_contacts` and
`score_accounts` score one pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from rapidfuzz import fuzz, process

from vinculo.core.search import normalize_text

# Scores are 0–100. A pair below MIN_SCORE is not worth a person's review.
MIN_SCORE = 70
# Names at least this similar (token sort ratio, 0–100) count as "similar"…
NAME_MIN = 85
# …but the city alone is a weak tie (a big city holds many namesakes): it needs more.
NAME_MIN_CITY = 90
EMAIL_SCORE = 97
PHONE_SCORE = 95
BOTH_SCORE = 100
# Shared address or number, and the names agree as well.
NAME_AGREES_BONUS = 2
# Shared address or number, but clearly different names (a shared "contato@" mailbox).
NAME_DIFFERS_PENALTY = 10
NAME_DIFFERS_BELOW = 50
# Name similarity turns into a score by what ties the two records: base + weight × similarity.
NAME_WEIGHT = 0.35
CONTEXT_BASE = {"account": 55.0, "domain": 50.0, "city": 40.0, "phone": 55.0}
EXTRA_CONTEXT_BONUS = 3
NAME_ONLY_CAP = 94
# Every address of both differs / every number of both differs: likely two people.
EMAIL_CONFLICT_PENALTY = 8
PHONE_CONFLICT_PENALTY = 7
# Accounts.
DOMAIN_SCORE = 95
ACCOUNT_PHONE_SCORE = 90
DOMAIN_CONFLICT_PENALTY = 10
# An address or number shared by more records than this (a switchboard, a role mailbox) pairs
# each of them with the first one only, instead of every pair of them.
EXACT_GROUP_MAX = 50

# Mail providers anyone can sign up with: a shared domain there says nothing about a company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.com.br",
        "outlook.com",
        "outlook.com.br",
        "live.com",
        "live.com.br",
        "msn.com",
        "yahoo.com",
        "yahoo.com.br",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
        "ig.com.br",
        "globo.com",
        "globomail.com",
        "r7.com",
        "zipmail.com.br",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "gmx.net",
        "mail.com",
        "yandex.com",
        "zoho.com",
    }
)
# Words that say what kind of company it is, not which one ("Acme Ltda" is "ACME S.A.").
LEGAL_SUFFIXES = frozenset(
    {
        "ltda",
        "ltd",
        "sa",
        "me",
        "epp",
        "eireli",
        "mei",
        "inc",
        "llc",
        "corp",
        "co",
        "company",
        "gmbh",
        "plc",
        "cia",
        "companhia",
        "limitada",
    }
)

_WORD_RE = re.compile(r"[^\W_]+")
_NOT_DIGIT_RE = re.compile(r"\D")


# --- normalisation -----------------------------------------------------------------------------


def name_key(*parts: str | None) -> str:
    """A person's or company's name as compared: case-folded, accents removed, punctuation
    gone, single spaces ("José  Núñez-Pérez" → "jose nunez perez")."""
    text = normalize_text(" ".join(p for p in parts if p))
    # Most names are letters and spaces already; the expression is only for the rest.
    if text.replace(" ", "").isalnum():
        return text
    return " ".join(_WORD_RE.findall(text))


@lru_cache(maxsize=8192)
def city_key(city: str) -> str:
    """A city as compared (a few thousand distinct ones, repeated a million times)."""
    return name_key(city)


def company_name_key(name: str | None) -> str:
    """A company name without its legal form ("Acme Comércio Ltda." → "acme comercio")."""
    words = name_key(name).split()
    while len(words) > 1:
        # "S.A." is cut into the words "s" and "a".
        if words[-2:] == ["s", "a"] and len(words) > 2:
            words = words[:-2]
        elif words[-1] in LEGAL_SUFFIXES:
            words = words[:-1]
        else:
            break
    return " ".join(words)


def email_key(address: str | None) -> str:
    """An address as compared: trimmed and lower-cased (stored addresses already are)."""
    return (address or "").strip().lower()


def email_domain(address: str) -> str:
    return address.rpartition("@")[2]


def phone_key(raw: str | None, region: str | None = None) -> str:
    """A phone number as compared: E.164 ("+5511987654321"). Stored numbers already are, and
    take the fast path; typed ones ("(11) 98765-4321") are read with the region given. A
    number that cannot be read compares by its digits."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.startswith("+") and text[1:].isdigit():
        return text
    digits = _NOT_DIGIT_RE.sub("", text)
    if not digits:
        return ""
    if text.startswith("+"):
        return f"+{digits}"
    if text.startswith("00"):
        return f"+{digits[2:]}"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def domain_key(domain: str | None) -> str:
    text = (domain or "").strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    return text.split("/", 1)[0].removeprefix("www.")


def sorted_words(name: str) -> str:
    return " ".join(sorted(name.split())) if " " in name else name


def name_similarity(a: str, b: str) -> int:
    """0–100: word order does not matter ("Silva Maria" is "Maria Silva")."""
    if not a or not b:
        return 0
    # Rounded down, so that "at least NAME_MIN" means the same here and in the blocks' cutoff.
    return int(fuzz.token_sort_ratio(a, b))


def company_similarity(a: str, b: str) -> int:
    """0–100 for company names: a name whose words are all in the other one counts as the
    same company ("Acme" is "Acme Comércio"), as people shorten company names that way."""
    if not a or not b:
        return 0
    return int(fuzz.token_set_ratio(a, b))


# --- what is compared --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What the scoring reads of a contact, already normalised (see `contact_facts`)."""

    id: int
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    account_id: int | None = None
    city: str = ""
    # Company email domains (free mail providers left out).
    domains: tuple[str, ...] = ()


def contact_facts(
    *,
    id: int,
    first_name: str = "",
    last_name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    account_id: int | None = None,
    city: str = "",
    region: str | None = None,
) -> ContactFacts:
    """Normalise a contact's fields for scoring. `region` reads typed national numbers."""
    email_keys = tuple(dict.fromkeys(k for k in (email_key(e) for e in emails) if k))
    phone_keys = tuple(dict.fromkeys(k for k in (phone_key(p, region) for p in phones) if k))
    domains = tuple(
        dict.fromkeys(
            d for d in (email_domain(e) for e in email_keys) if d and d not in FREE_MAIL_DOMAINS
        )
    )
    return ContactFacts(
        id=id,
        name=name_key(first_name, last_name),
        emails=email_keys,
        phones=phone_keys,
        account_id=account_id,
        city=city_key(city) if city else "",
        domains=domains,
    )


def stored_contact_facts(
    id: int,
    first_name: str,
    last_name: str,
    emails: list[str],
    phones: list[str],
    account_id: int | None,
    city: str,
) -> ContactFacts:
    """`contact_facts` of a stored contact, whose addresses are already lower-cased and
    distinct and whose numbers are already E.164 and distinct (the services keep them so):
    the scan builds a million of these and skips what the services did already."""
    domains: tuple[str, ...] = ()
    for address in emails:
        domain = address.rpartition("@")[2]
        if domain and domain not in FREE_MAIL_DOMAINS and domain not in domains:
            domains += (domain,)
    return ContactFacts(
        id,
        name_key(first_name, last_name),
        tuple(emails),
        tuple(phones),
        account_id,
        city_key(city) if city else "",
        domains,
    )


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the scoring reads of an account (see `account_facts`)."""

    id: int
    name: str
    domain: str = ""
    phone: str = ""
    city: str = ""


def account_facts(
    *,
    id: int,
    name: str = "",
    domain: str = "",
    phone: str = "",
    city: str = "",
    region: str | None = None,
) -> AccountFacts:
    return AccountFacts(
        id=id,
        name=company_name_key(name),
        domain=domain_key(domain),
        phone=phone_key(phone, region),
        city=name_key(city),
    )


@dataclass(frozen=True)
class Match:
    """A likely duplicate: the score (0–100) and why, most telling reason first. Reasons are
    JSON-ready: {"kind": "email", "value": …}, {"kind": "phone", "value": …},
    {"kind": "domain", "value": …}, {"kind": "name", "similarity": 92, "with": "city"}."""

    score: int
    reasons: list[dict[str, Any]] = field(default_factory=list)


# --- scoring one pair --------------------------------------------------------------------------


def _name_score(similarity: int, contexts: list[str]) -> int:
    """The score of similar names tied by `contexts` (best first), before penalties."""
    best = max(CONTEXT_BASE[c] + NAME_WEIGHT * similarity for c in contexts)
    return min(NAME_ONLY_CAP, round(best) + EXTRA_CONTEXT_BONUS * (len(contexts) - 1))


def _name_contexts(similarity: int, ties: list[str]) -> list[str]:
    """The ties under which names this similar count, strongest first."""
    wanted = [t for t in ties if similarity >= (NAME_MIN_CITY if t == "city" else NAME_MIN)]
    return sorted(wanted, key=lambda t: -CONTEXT_BASE[t])


def score_contacts(a: ContactFacts, b: ContactFacts) -> Match | None:
    """How likely `a` and `b` are one person; None when nothing ties them."""
    shared_emails = [e for e in a.emails if e in b.emails]
    shared_phones = [p for p in a.phones if p in b.phones]
    similarity = name_similarity(a.name, b.name)
    reasons: list[dict[str, Any]] = [{"kind": "email", "value": e} for e in shared_emails]
    reasons += [{"kind": "phone", "value": p} for p in shared_phones]
    if shared_emails or shared_phones:
        if shared_emails and shared_phones:
            score = BOTH_SCORE
        else:
            score = EMAIL_SCORE if shared_emails else PHONE_SCORE
        if similarity >= NAME_MIN:
            score += NAME_AGREES_BONUS
            reasons.append({"kind": "name", "similarity": similarity, "with": "email"})
        elif a.name and b.name and similarity < NAME_DIFFERS_BELOW:
            score -= NAME_DIFFERS_PENALTY
        return Match(min(100, score), reasons)
    ties = []
    if a.account_id is not None and a.account_id == b.account_id:
        ties.append("account")
    if any(d in b.domains for d in a.domains):
        ties.append("domain")
    if a.city and a.city == b.city:
        ties.append("city")
    contexts = _name_contexts(similarity, ties)
    if not contexts:
        return None
    score = _name_score(similarity, contexts)
    if a.emails and b.emails:
        score -= EMAIL_CONFLICT_PENALTY
    if a.phones and b.phones:
        score -= PHONE_CONFLICT_PENALTY
    reasons = [{"kind": "name", "similarity": similarity, "with": c} for c in contexts]
    return Match(score, reasons)


def score_accounts(a: AccountFacts, b: AccountFacts) -> Match | None:
    """How likely `a` and `b` are one company; None when nothing ties them."""
    same_domain = bool(a.domain) and a.domain == b.domain
    same_phone = bool(a.phone) and a.phone == b.phone
    similarity = company_similarity(a.name, b.name)
    reasons: list[dict[str, Any]] = []
    if same_domain:
        reasons.append({"kind": "domain", "value": a.domain})
    if same_phone:
        reasons.append({"kind": "phone", "value": a.phone})
    if same_domain or same_phone:
        score = (
            BOTH_SCORE
            if same_domain and same_phone
            else (DOMAIN_SCORE if same_domain else ACCOUNT_PHONE_SCORE)
        )
        if similarity >= NAME_MIN:
            score += NAME_AGREES_BONUS
            reasons.append(
                {
                    "kind": "name",
                    "similarity": similarity,
                    "with": "domain" if same_domain else "phone",
                }
            )
        elif a.name and b.name and similarity < NAME_DIFFERS_BELOW:
            score -= NAME_DIFFERS_PENALTY
        return Match(min(100, score), reasons)
    ties = ["city"] if a.city and a.city == b.city else []
    contexts = _name_contexts(similarity, ties)
    if not contexts:
        return None
    score = _name_score(similarity, contexts)
    if a.domain and b.domain:
        score -= DOMAIN_CONFLICT_PENALTY
    if a.phone and b.phone:
        score -= PHONE_CONFLICT_PENALTY
    return Match(score, [{"kind": "name", "similarity": similarity, "with": c} for c in contexts])


# --- finding the pairs of many records ---------------------------------------------------------

Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000
_NO_BLOCKS: tuple[()] = ()


class _ExactKeys:
    """Which records share a key (an address, a number, a domain). Most keys belong to one
    record: those keep a bare index, and only shared keys grow a list (a million small lists
    would cost more memory than the records themselves)."""

    def __init__(self) -> None:
        self.groups: dict[str, int | list[int]] = {}

    def add(self, key: str, index: int) -> None:
        seen = self.groups.get(key)
        if seen is None:
            self.groups[key] = index
        elif isinstance(seen, int):
            if seen != index:
                self.groups[key] = [seen, index]
        elif seen[-1] != index:
            seen.append(index)

    def pairs_into(self, partners: dict[int, list[int]]) -> None:
        """Record in `partners[i]` the later indexes that share a key with index i."""
        for members in self.groups.values():
            if isinstance(members, int):
                continue
            if len(members) > EXACT_GROUP_MAX:
                partners.setdefault(members[0], []).extend(members[1:])
                continue
            for pos, i in enumerate(members[:-1]):
                partners.setdefault(i, []).extend(members[pos + 1 :])
        self.groups = {}


class _Block:
    """Records whose names are compared with each other: their indexes in order, their names,
    and how many of them were visited (records are visited in index order, so that is the
    position of the record being visited)."""

    __slots__ = ("members", "names", "seen")

    def __init__(self) -> None:
        self.members: list[int] = []
        self.names: list[str] = []
        self.seen = 0

    def similar_later(self, name: str, into: list[int], scorer: Any) -> None:
        """Append to `into` the later records of the block whose names are similar."""
        pos = self.seen
        self.seen = pos + 1
        members = self.members
        if pos + 1 >= len(members):
            return
        for _choice, _score, offset in process.extract(
            name,
            self.names[pos + 1 :],
            scorer=scorer,
            score_cutoff=NAME_MIN,
            limit=None,
        ):
            into.append(members[pos + 1 + offset])


class _Blocking:
    """Blocks by key (strings: their hash is computed once), and each record's blocks. People's
    names go into blocks with their words sorted, so that the plain ratio is the token sort
    ratio `name_similarity` uses, without sorting each name again for every comparison."""

    def __init__(self, *, people: bool) -> None:
        self.blocks: dict[str, _Block] = {}
        self.of_record: list[Sequence[_Block]] = []
        self.prepare: Callable[[str], str] = sorted_words if people else str
        self.scorer: Any = fuzz.ratio if people else fuzz.token_set_ratio

    def add_record(self, index: int, name: str, keys: list[str]) -> None:
        if not keys:
            self.of_record.append(_NO_BLOCKS)
            return
        name = self.prepare(name)
        mine = []
        for key in keys:
            block = self.blocks.get(key)
            if block is None:
                block = self.blocks[key] = _Block()
            block.members.append(index)
            block.names.append(name)
            mine.append(block)
        self.of_record.append(mine)

    def finish(self) -> None:
        """Forget the blocks of a single record: there is nothing to compare in them."""
        self.blocks = {}
        for index, mine in enumerate(self.of_record):
            if mine:
                kept = [b for b in mine if len(b.members) > 1]
                self.of_record[index] = kept or _NO_BLOCKS


def contact_pairs(
    records: Sequence[ContactFacts], *, progress: Progress | None = None
) -> Iterator[tuple[int, int, Match]]:
    """Every likely duplicate pair among `records` as (smaller id, larger id, match), each once,
    scoring at least MIN_SCORE. `progress(n)` is called with the number of records done."""
    emails, phones = _ExactKeys(), _ExactKeys()
    blocking = _Blocking(people=True)
    for index, record in enumerate(records):
        for email in record.emails:
            emails.add(email, index)
        for phone in record.phones:
            phones.add(phone, index)
        keys: list[str] = []
        name = record.name
        if name:
            if record.account_id is not None:
                keys.append(f"a:{record.account_id}")
            keys.extend(f"d:{d}" for d in record.domains)
            if record.city:
                first, _sep, rest = name.partition(" ")
                last = rest.rpartition(" ")[2] or first
                keys.append(f"c:{record.city}:{first[:2]}:{last[:2]}")
        blocking.add_record(index, name, keys)
    blocking.finish()
    partners: dict[int, list[int]] = {}
    emails.pairs_into(partners)
    phones.pairs_into(partners)
    yield from _score_all(records, blocking, partners, score_contacts, progress)


def account_pairs(
    records: Sequence[AccountFacts], *, progress: Progress | None = None
) -> Iterator[tuple[int, int, Match]]:
    """Like `contact_pairs`, for accounts: the same domain or phone, similar names in the same
    city."""
    domains, phones = _ExactKeys(), _ExactKeys()
    blocking = _Blocking(people=False)
    for index, record in enumerate(records):
        if record.domain:
            domains.add(record.domain, index)
        if record.phone:
            phones.add(record.phone, index)
        keys = [f"c:{record.city}:{record.name[:2]}"] if record.name and record.city else []
        blocking.add_record(index, record.name, keys)
    blocking.finish()
    partners: dict[int, list[int]] = {}
    domains.pairs_into(partners)
    phones.pairs_into(partners)
    yield from _score_all(records, blocking, partners, score_accounts, progress)


def _score_all(
    records: Sequence[Any],
    blocking: _Blocking,
    partners: dict[int, list[int]],
    score: Callable[[Any, Any], Match | None],
    progress: Progress | None,
) -> Iterator[tuple[int, int, Match]]:
    of_record = blocking.of_record
    prepare, scorer = blocking.prepare, blocking.scorer
    for index, record in enumerate(records):
        later = partners.pop(index, None) or []
        blocks = of_record[index]
        if blocks:
            name = prepare(record.name)
            for block in blocks:
                block.similar_later(name, later, scorer)
            of_record[index] = _NO_BLOCKS
        for other_index in set(later):
            other = records[other_index]
            match = score(record, other)
            if match is not None and match.score >= MIN_SCORE:
                low, high = sorted((record.id, other.id))
                yield low, high, match
        if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
            progress(index + 1)
    if progress is not None:
        progress(len(records))
