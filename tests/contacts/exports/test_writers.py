"""What the files hold: the list's columns and labels, cells formatted like the list shows them,
formulas neutralised in CSV and never made in XLSX, typed dates and numbers in XLSX."""

from __future__ import annotations

import datetime as dt
import io
import random
import zoneinfo

import phonenumbers
import pytest
from django.utils import timezone, translation

from tests.contacts.exports.conftest import read_csv, read_xlsx, xlsx_part
from vinculo.contacts.exports.selectors import export_plan
from vinculo.contacts.exports.writers import (
    MomentFormatter,
    excel_format,
    neutralise,
    phone_text,
    write_plan,
)
from vinculo.contacts.forms import date_display
from vinculo.contacts.models import Contact
from vinculo.core.models import User, Workspace
from vinculo.web.formatting import phone_display

SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")


def export(workspace: Workspace, viewer: User | None, file_format: str = "csv", **kwargs) -> bytes:
    plan = export_plan(
        workspace=workspace, viewer=viewer, object_type="contact", file_format=file_format, **kwargs
    )
    out = io.BytesIO()
    write_plan(workspace=workspace, viewer=viewer, plan=plan, target=out, zone=SAO_PAULO)
    return out.getvalue()


def test_neutralise_quotes_what_a_spreadsheet_would_run() -> None:
    for cell in ("=1+2", "+55", "-3", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(cell) == f"'{cell}"
    for cell in ("", "Ana", "1+2", " =x", "'=x"):
        assert neutralise(cell) == cell


def test_phone_templates_agree_with_the_library_in_every_region() -> None:
    rng = random.Random(4)
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for _ in range(12):
                cut = rng.randint(3, len(base) - 1)
                number = base[:cut] + "".join(str(rng.randrange(10)) for _ in base[cut:])
                assert phone_text(number) == phone_display(number), number
                checked += 1
    assert checked > 5000
    assert phone_text("+5511987654321") == "+55 11 98765-4321"
    assert phone_text("") == ""
    assert phone_text("not a number") == "not a number"


def test_moments_read_like_the_list(workspace: Workspace) -> None:
    moment = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)
    for language in ("en", "pt-br"):
        with translation.override(language), timezone.override(SAO_PAULO):
            formatter = MomentFormatter(SAO_PAULO)
            assert formatter.datetime_text(moment) == date_display(moment)
            assert formatter.date_text(dt.date(2026, 3, 9)) == date_display(dt.date(2026, 3, 9))
            # Twice: the second one comes from the cache.
            assert formatter.datetime_text(moment) == date_display(moment)
    with translation.override("pt-br"):
        assert MomentFormatter(SAO_PAULO).datetime_text(moment) == "09/03/2026 20:30"


def test_excel_formats_of_the_locales() -> None:
    assert excel_format("d/m/Y H:i", "-") == "dd/mm/yyyy hh:mm"
    assert excel_format("m/d/Y P", "-") == "mm/dd/yyyy h:mm AM/PM"
    assert excel_format("j \\d\\e F", "-") == 'd "d""e" mmmm'
    assert excel_format("c", "fallback") == "fallback"


@pytest.fixture
def people(workspace: Workspace, admin: User, contact_factory, account_factory, custom_field):
    custom_field("budget", "money")
    custom_field("seats", "number")
    custom_field("renewal", "date")
    custom_field("vip", "boolean")
    acme = account_factory(name="Acme, Ltda")
    ana = contact_factory(
        first_name="Ana",
        last_name="Lima",
        emails=["ana@example.com"],
        phones=["+55 11 98765-4321"],
        account_id=acme.pk,
        tags=["vip", "Fair"],
        lifecycle_stage="customer",
        owner_id=admin.pk,
        job_title='=HYPERLINK("http://evil")',
        custom_fields={"budget": "1234.5", "seats": 12, "renewal": "2026-12-01", "vip": True},
    )
    bia = contact_factory(first_name="+Bia", emails=["bia@example.com"], job_title="@SUM(A1)")
    Contact.objects.for_workspace(workspace).filter(pk=ana.pk).update(
        created_at=dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)
    )
    return ana, bia


COLUMNS = ["email", "phone", "account", "job_title", "lifecycle_stage", "owner", "tags"]
CUSTOM = ["created_at", "cf.budget", "cf.seats", "cf.renewal", "cf.vip"]


def test_csv_holds_the_columns_as_the_list_shows_them(workspace, admin, people) -> None:
    rows = read_csv(export(workspace, admin, columns=COLUMNS + CUSTOM))
    assert rows[0] == [
        "Name",
        "Email",
        "Phone",
        "Company",
        "Job title",
        "Stage",
        "Owner",
        "Tags",
        "Created",
        "Budget",
        "Seats",
        "Renewal",
        "Vip",
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Ana Lima"] == [
        "Ana Lima",
        "ana@example.com",
        "'+55 11 98765-4321",
        "Acme, Ltda",
        '\'=HYPERLINK("http://evil")',
        "Customer",
        admin.display_name,
        "Fair, vip",
        "03/09/2026 8:30 p.m.",
        "R$ 1,234.50",
        "12",
        "12/01/2026",
        "Yes",
    ]
    assert by_name["'+Bia"][4] == "'@SUM(A1)"
    # Nothing a spreadsheet would run is left.
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)


def test_csv_in_portuguese(workspace, admin, people) -> None:
    with translation.override("pt-br"):
        rows = read_csv(export(workspace, admin, columns=["lifecycle_stage", "created_at"]))
    assert rows[0] == ["Nome", "Estágio", "Criado em"]
    assert ["Ana Lima", "Cliente", "09/03/2026 20:30"] in rows


def test_xlsx_has_typed_cells_text_as_text_and_a_frozen_bold_header(
    workspace, admin, people
) -> None:
    data = export(workspace, admin, "xlsx", columns=COLUMNS + CUSTOM)
    rows = read_xlsx(data)
    assert rows[0][:3] == ["Name", "Email", "Phone"]
    ana = next(row for row in rows if row[0] == "Ana Lima")
    assert ana[2] == "+55 11 98765-4321"
    # Text stays as typed: shown, never run (no neutralising quote needed).
    assert ana[4] == '=HYPERLINK("http://evil")'
    assert ana[7] == "Fair, vip"
    assert ana[8] == dt.datetime(2026, 3, 9, 20, 30)  # local time, a real date
    assert ana[9] == 1234.5
    assert ana[10] == 12
    assert ana[11] == dt.date(2026, 12, 1)
    assert ana[12] is True
    bia = next(row for row in rows if row[0] == "+Bia")
    assert bia[4] == "@SUM(A1)"
    sheet = xlsx_part(data, "xl/worksheets/sheet1.xml")
    assert "<f>" not in sheet, "no cell is a formula"
    assert 'state="frozen"' in sheet and 'ySplit="1"' in sheet
    assert "<b/>" in xlsx_part(data, "xl/styles.xml")
    assert 'formatCode="mm/dd/yyyy h:mm AM/PM"' in xlsx_part(data, "xl/styles.xml")


def test_an_empty_list_is_a_header_alone(workspace, admin) -> None:
    assert read_csv(export(workspace, admin)) == [
        ["Name", "Email", "Phone", "Company", "Stage", "Owner", "Tags"]
    ]
    assert read_xlsx(export(workspace, admin, "xlsx"))[0][0] == "Name"


def test_rows_come_in_the_lists_order_across_chunks(workspace, admin, contact_factory) -> None:
    from vinculo.contacts.exports import selectors

    for i in range(23):
        contact_factory(first_name=f"P{i:02d}")
    plan = export_plan(
        workspace=workspace, viewer=admin, object_type="contact", params={"sort": "-name"}
    )
    chunks = list(
        selectors.export_chunks(workspace=workspace, viewer=admin, plan=plan, chunk_size=5)
    )
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    names = [row[plan.layout["first_name"]] for chunk in chunks for row in chunk]
    assert names == [f"P{i:02d}" for i in reversed(range(23))]
