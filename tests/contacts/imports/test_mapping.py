"""Guessing which column goes to which field from the headers people actually write."""

from __future__ import annotations

import pytest

from vinculo.contacts.imports.mapping import (
    BUILTIN_ALIASES,
    FieldSpec,
    guess_mapping,
    normalise_header,
)

BRAZILIAN_HEADER = "Nome completo;E-mail;Telefone;Empresa;Cidade;UF;Data de nascimento"
CONTACT_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "job_title": "Job title",
    "birthdate": "Birthdate",
    "language": "Language",
    "lifecycle_stage": "Lifecycle stage",
    "source": "Source",
    "account": "Account",
    "owner": "Owner",
    "street": "Street",
    "city": "City",
    "state": "State",
    "postal_code": "Postal code",
    "country": "Country",
    "external_id": "External ID",
    "tags": "Tags",
}
# The same fields as the mapping page shows them in Portuguese.
CONTACT_LABELS_PT = {
    "first_name": "nome",
    "last_name": "sobrenome",
    "full_name": "nome completo",
    "email": "email",
    "phone": "telefone",
    "job_title": "cargo",
    "birthdate": "data de nascimento",
    "account": "empresa",
    "city": "cidade",
    "state": "estado",
    "tags": "etiquetas",
}


def _contact_fields(labels: dict[str, str], *custom: FieldSpec) -> list[FieldSpec]:
    return [FieldSpec(name, labels.get(name, CONTACT_LABELS[name])) for name in CONTACT_LABELS] + [
        *custom
    ]


def _guess(headers: list[str], fields: list[FieldSpec]) -> dict[str, str]:
    """Header text → field, for reading the assertions."""
    return {headers[int(column)]: name for column, name in guess_mapping(headers, fields).items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E-mail", "email"),
        ("  E MAIL ", "email"),
        ("Data de Nascimento", "datadenascimento"),
        ("Endereço (rua/nº)", "enderecoruano"),
        ("País", "pais"),
        ("Razão Social", "razaosocial"),
        ("", ""),
    ],
)
def test_normalise_header(text, expected):
    assert normalise_header(text) == expected


@pytest.mark.parametrize("labels", [CONTACT_LABELS, CONTACT_LABELS_PT])
def test_brazilian_export_headers(labels):
    headers = BRAZILIAN_HEADER.split(";")

    assert _guess(headers, _contact_fields(labels)) == {
        "Nome completo": "full_name",
        "E-mail": "email",
        "Telefone": "phone",
        "Empresa": "account",
        "Cidade": "city",
        "UF": "state",
        "Data de nascimento": "birthdate",
    }


def test_mapping_is_keyed_by_column_index():
    headers = ["Nome completo", "E-mail"]

    assert guess_mapping(headers, _contact_fields(CONTACT_LABELS)) == {
        "0": "full_name",
        "1": "email",
    }


def test_english_headers():
    headers = [
        "Full name",
        "Email address",
        "Mobile",
        "Company",
        "City",
        "State",
        "ZIP",
        "Date of birth",
        "Job title",
        "Lead source",
        "Tags",
        "Owner",
        "External ID",
    ]

    assert _guess(headers, _contact_fields(CONTACT_LABELS)) == {
        "Full name": "full_name",
        "Email address": "email",
        "Mobile": "phone",
        "Company": "account",
        "City": "city",
        "State": "state",
        "ZIP": "postal_code",
        "Date of birth": "birthdate",
        "Job title": "job_title",
        "Lead source": "source",
        "Tags": "tags",
        "Owner": "owner",
        "External ID": "external_id",
    }


@pytest.mark.parametrize("labels", [CONTACT_LABELS, CONTACT_LABELS_PT])
def test_nome_beside_sobrenome_is_the_first_name(labels):
    fields = _contact_fields(labels)

    assert _guess(["Nome", "Sobrenome", "Email"], fields) == {
        "Nome": "first_name",
        "Sobrenome": "last_name",
        "Email": "email",
    }
    assert _guess(["Nome", "Email"], fields) == {"Nome": "full_name", "Email": "email"}
    assert _guess(["Name", "Last name"], fields) == {"Name": "first_name", "Last name": "last_name"}


def test_each_field_is_used_once_by_the_leftmost_column():
    headers = ["Telefone", "Celular", "WhatsApp", "E-mail", "Email"]

    assert _guess(headers, _contact_fields(CONTACT_LABELS)) == {
        "Telefone": "phone",
        "E-mail": "email",
    }


def test_a_field_name_written_as_is_wins_over_an_alias():
    headers = ["Empresa", "account"]

    assert _guess(headers, _contact_fields(CONTACT_LABELS)) == {"account": "account"}


def test_typos_are_matched_fuzzily_and_unknown_columns_stay_unmapped():
    headers = ["Telefoen", "Cidadee", "E-maill", "Cor favorita", "Xyz", "UX"]

    assert _guess(headers, _contact_fields(CONTACT_LABELS)) == {
        "Telefoen": "phone",
        "Cidadee": "city",
        "E-maill": "email",
    }


def test_accents_do_not_matter():
    headers = ["PAIS", "Codigo", "Estagio", "Responsavel", "Endereco"]

    assert _guess(headers, _contact_fields(CONTACT_LABELS)) == {
        "PAIS": "country",
        "Codigo": "external_id",
        "Estagio": "lifecycle_stage",
        "Responsavel": "owner",
        "Endereco": "street",
    }


def test_custom_fields_by_label_key_or_alias():
    fields = _contact_fields(
        CONTACT_LABELS,
        FieldSpec("cf:segment", "Segmento de mercado"),
        FieldSpec("cf:nps", "Nota NPS", aliases=("Net Promoter Score",)),
        FieldSpec("cf:shoe_size", "Tamanho do calçado"),
    )
    headers = ["Segmento de mercado", "Net Promoter Score", "shoe size", "Email"]

    assert _guess(headers, fields) == {
        "Segmento de mercado": "cf:segment",
        "Net Promoter Score": "cf:nps",
        "shoe size": "cf:shoe_size",
        "Email": "email",
    }


def test_account_headers():
    fields = [
        FieldSpec("name", "Name"),
        FieldSpec("domain", "Domain"),
        FieldSpec("website", "Website"),
        FieldSpec("industry", "Industry"),
        FieldSpec("size", "Size"),
        FieldSpec("phone", "Phone"),
        FieldSpec("city", "City"),
        FieldSpec("state", "State"),
    ]
    headers = ["Razão social", "Domínio", "Site", "Setor", "Porte", "Telefone", "Cidade", "UF"]

    assert _guess(headers, fields) == {
        "Razão social": "name",
        "Domínio": "domain",
        "Site": "website",
        "Setor": "industry",
        "Porte": "size",
        "Telefone": "phone",
        "Cidade": "city",
        "UF": "state",
    }


def test_only_the_fields_given_are_guessed():
    fields = [FieldSpec("email", "Email")]

    assert _guess(["Empresa", "E-mail", "Nome"], fields) == {"E-mail": "email"}


ACCOUNT_ONLY = {"name", "domain", "website", "industry", "size"}
CONTACT_ONLY = {
    "full_name",
    "first_name",
    "last_name",
    "account",
    "job_title",
    "birthdate",
    "language",
    "lifecycle_stage",
    "source",
}


@pytest.mark.parametrize("left_out", [ACCOUNT_ONLY, CONTACT_ONLY])
def test_no_spelling_means_two_fields_of_the_same_object(left_out):
    owners: dict[str, set[str]] = {}
    for name, aliases in BUILTIN_ALIASES.items():
        if name not in left_out:
            for alias in aliases:
                owners.setdefault(normalise_header(alias), set()).add(name)
    shared = {key: names for key, names in owners.items() if len(names) > 1}
    # "Nome"/"Name" is settled by the columns around it (see test_nome_beside_sobrenome...).
    assert shared.keys() <= {"nome", "name"}
