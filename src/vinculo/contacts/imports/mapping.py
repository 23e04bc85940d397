"""Which column of a file goes to which field: header normalisation and the automatic guess.

A header is compared after normalisation (lower case, no accents, no spaces or punctuation), so
"E-mail", "email" and "E MAIL" are the same title. The guess tries exact matches on a field's
name, its label and its aliases first, then a fuzzy match (rapidfuzz) for typos. Every guess is
only a starting point: the person sees the mapping and can change it before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from vinculo.core.search import normalize_text

# A fuzzy match must score at least this (0-100) to be offered; "Telefoen" → telefone is 88,
# while unrelated short titles stay well below.
FUZZY_MIN_SCORE = 85
# Titles this short ("UF", "ID") only match exactly: one letter off is another word.
FUZZY_MIN_LENGTH = 4


@dataclass(frozen=True)
class FieldSpec:
    """A field a column can be mapped to. `name` is what the object's validation understands
    ("first_name", "email", "account", "tags", "cf:<custom field key>"); `label` is shown in
    the mapping page; `aliases` are more header spellings that mean this field."""

    name: str
    label: str
    aliases: tuple[str, ...] = ()


# Header spellings, in Portuguese and English, of the fields contacts and accounts share and of
# each one's own. Contacts have no "name" and accounts no "account", "full_name" or
# "first_name", so one table serves both: guess_mapping only looks up fields it is given.
BUILTIN_ALIASES: dict[str, tuple[str, ...]] = {
    # contacts
    "full_name": (
        "Nome completo",
        "Nome",
        "Nome do contato",
        "Nome do cliente",
        "Full name",
        "Name",
        "Contact name",
        "Customer name",
    ),
    "first_name": ("Primeiro nome", "Prenome", "First name", "Given name", "Forename"),
    "last_name": ("Sobrenome", "Último nome", "Last name", "Surname", "Family name"),
    "email": (
        "E-mail",
        "Email",
        "Correio eletrônico",
        "Endereço de e-mail",
        "E-mail principal",
        "Email address",
        "E-mail address",
        "Mail",
    ),
    "phone": (
        "Telefone",
        "Celular",
        "Fone",
        "Tel",
        "Telefone celular",
        "Número de telefone",
        "Phone",
        "Phone number",
        "Mobile",
        "Mobile phone",
        "Cell phone",
        "WhatsApp",
    ),
    "account": (
        "Empresa",
        "Organização",
        "Nome da empresa",
        "Conta",
        "Company",
        "Company name",
        "Organization",
        "Organisation",
        "Account",
        "Account name",
    ),
    "job_title": ("Cargo", "Função", "Profissão", "Job title", "Position", "Title"),
    "birthdate": (
        "Data de nascimento",
        "Nascimento",
        "Data nasc",
        "Aniversário",
        "Birthdate",
        "Date of birth",
        "Birth date",
        "Birthday",
        "DOB",
    ),
    "language": ("Idioma", "Língua", "Language"),
    "lifecycle_stage": (
        "Estágio",
        "Estágio do ciclo de vida",
        "Etapa",
        "Fase",
        "Lifecycle stage",
        "Stage",
    ),
    "source": ("Origem", "Fonte", "Origem do lead", "Source", "Lead source"),
    # accounts
    "name": (
        "Nome da empresa",
        "Razão social",
        "Nome fantasia",
        "Empresa",
        "Organização",
        "Nome",
        "Company",
        "Company name",
        "Organization",
        "Account name",
        "Name",
    ),
    "domain": ("Domínio", "Domain"),
    "website": ("Site", "Website", "Web site", "Página", "Página web", "URL", "Homepage"),
    "industry": ("Setor", "Indústria", "Segmento", "Ramo", "Ramo de atividade", "Industry"),
    "size": ("Porte", "Tamanho", "Porte da empresa", "Size", "Company size"),
    # both
    "owner": ("Proprietário", "Responsável", "Dono", "Owner", "Contact owner", "Account owner"),
    "street": ("Endereço", "Rua", "Logradouro", "Street", "Address", "Street address"),
    "city": ("Cidade", "Município", "City", "Town"),
    "state": ("Estado", "UF", "State", "Province", "Region"),
    "postal_code": ("CEP", "Código postal", "Postal code", "ZIP", "ZIP code", "Postcode"),
    "country": ("País", "Country"),
    "tags": ("Etiquetas", "Marcadores", "Tags", "Labels"),
    "external_id": ("ID externo", "Código", "Identificador", "External ID", "ID", "Code"),
}

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
# A lone "Nome"/"Name" column holds whole names; next to a last-name column it is the first name.
_BARE_NAME_HEADERS = frozenset({"nome", "name"})


def normalise_header(text: str) -> str:
    """The header as compared: lower case, no accents, only letters and digits."""
    return _NOT_ALNUM.sub("", normalize_text(text))


def _field_keys(field: FieldSpec) -> list[str]:
    """Every normalised spelling of a field, its own name first."""
    spellings = [field.name, str(field.label), *field.aliases, *BUILTIN_ALIASES.get(field.name, ())]
    if field.name.startswith("cf:"):
        spellings.append(field.name.removeprefix("cf:"))
    keys: list[str] = []
    for spelling in spellings:
        key = normalise_header(spelling)
        if key and key not in keys:
            keys.append(key)
    return keys


def guess_mapping(headers: list[str], fields: list[FieldSpec]) -> dict[str, str]:
    """Column index (as a string) → field name, for the columns whose title names a field.

    Each field is used once (the leftmost column wins). Exact matches on a field's name, label
    or aliases come first; the remaining columns get the most similar remaining field when the
    similarity is at least FUZZY_MIN_SCORE. Columns that match nothing stay unmapped.
    """
    keys_by_field = {field.name: _field_keys(field) for field in fields}
    normalised = [normalise_header(h) for h in headers]
    mapping: dict[int, str] = {}
    used: set[str] = set()

    # Exact matches: a field's own name beats a label or alias someone else shares.
    candidates: list[tuple[int, int, str]] = []
    for column, key in enumerate(normalised):
        if not key:
            continue
        for order, field in enumerate(fields):
            keys = keys_by_field[field.name]
            if key in keys:
                strength = 0 if key == keys[0] else 1
                candidates.append((strength, column * len(fields) + order, field.name))
    for _strength, slot, name in sorted(candidates):
        column = slot // len(fields)
        if column not in mapping and name not in used:
            mapping[column] = name
            used.add(name)

    # Fuzzy matches for typos and near spellings, best score first.
    scored: list[tuple[float, int, str]] = []
    for column, key in enumerate(normalised):
        if column in mapping or len(key) < FUZZY_MIN_LENGTH:
            continue
        for field in fields:
            if field.name in used:
                continue
            best = max(
                (fuzz.ratio(key, k) for k in keys_by_field[field.name] if len(k) >= 3),
                default=0.0,
            )
            if best >= FUZZY_MIN_SCORE:
                scored.append((-best, column, field.name))
    for _score, column, name in sorted(scored):
        if column not in mapping and name not in used:
            mapping[column] = name
            used.add(name)

    _settle_bare_name(mapping, normalised, {f.name for f in fields})
    return {str(column): name for column, name in sorted(mapping.items())}


def _settle_bare_name(mapping: dict[int, str], normalised: list[str], names: set[str]) -> None:
    """Decide what a column titled just "Nome"/"Name" holds: the whole name on its own, the
    first name when another column holds the last name (pt-BR exports write "Nome" and
    "Sobrenome" side by side, and "nome" is also the Portuguese label of first_name)."""
    bare = [c for c, key in enumerate(normalised) if key in _BARE_NAME_HEADERS and c in mapping]
    if not bare:
        return
    column = bare[0]
    if mapping[column] not in ("full_name", "first_name"):
        return
    has_last_name = "last_name" in mapping.values()
    wanted = "first_name" if has_last_name else "full_name"
    if wanted in names and wanted not in mapping.values():
        mapping[column] = wanted
