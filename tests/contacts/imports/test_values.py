"""Dates, numbers and yes/no as Brazilian and English spreadsheets write them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from vinculo.contacts.imports.values import EXCEL_EPOCH, parse_bool, parse_date, parse_number


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# ---------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/12/2024", dt.date(2024, 12, 31)),
        ("2024-12-31", dt.date(2024, 12, 31)),
        ("2024/12/31", dt.date(2024, 12, 31)),
        ("12/31/2024", dt.date(2024, 12, 31)),
        ("31.12.2024", dt.date(2024, 12, 31)),
        ("31-12-2024", dt.date(2024, 12, 31)),
        ("1/2/2024", dt.date(2024, 2, 1)),
        (" 31/12/2024 ", dt.date(2024, 12, 31)),
        ("31/12/2024 10:30", dt.date(2024, 12, 31)),
        ("2024-12-31 10:30:00", dt.date(2024, 12, 31)),
        ("2024-12-31T10:30:00-03:00", dt.date(2024, 12, 31)),
        ("20241231", dt.date(2024, 12, 31)),
        ("45657", dt.date(2024, 12, 31)),
        ("45657.75", dt.date(2024, 12, 31)),
        ("31 de dezembro de 2024", dt.date(2024, 12, 31)),
        ("1º de março de 2020", dt.date(2020, 3, 1)),
        ("31 dez 2024", dt.date(2024, 12, 31)),
        ("Dec 31, 2024", dt.date(2024, 12, 31)),
        ("December 31st 2024", dt.date(2024, 12, 31)),
        ("5 Feb 1990", dt.date(1990, 2, 5)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_ambiguous_day_and_month_follow_the_preference():
    assert parse_date("03/04/2024") == dt.date(2024, 4, 3)
    assert parse_date("03/04/2024", prefer_day_first=False) == dt.date(2024, 3, 4)
    # Not ambiguous: the preference does not matter.
    assert parse_date("25/04/2024", prefer_day_first=False) == dt.date(2024, 4, 25)
    assert parse_date("04/25/2024") == dt.date(2024, 4, 25)


def test_two_digit_years_fall_in_the_century_ending_ten_years_ahead():
    this_year = dt.date.today().year % 100
    assert parse_date("31/12/85") == dt.date(1985, 12, 31)
    assert parse_date(f"01/01/{this_year:02d}").year == dt.date.today().year
    later = (this_year + 11) % 100
    assert parse_date(f"01/01/{later:02d}").year < dt.date.today().year


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The date is empty."),
        ("abc", "“abc” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd."),
        ("1980", "“1980” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd."),
        ("31/02/2024", "“31/02/2024” is not a valid date: that day does not exist."),
        ("2024-13-01", "“2024-13-01” is not a valid date: that day does not exist."),
        ("31/12", "“31/12” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd."),
        ("32 dez 2024", "“32 dez 2024” is not a valid date: that day does not exist."),
    ],
)
def test_parse_date_refuses_with_a_clear_message(text, message):
    with pytest.raises(ValueError) as caught:
        parse_date(text)
    assert str(caught.value) == message


dates = st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31))


@given(dates, st.sampled_from(["%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d"]))
def test_dates_written_the_brazilian_or_iso_way_read_back(date, pattern):
    assert parse_date(date.strftime(pattern)) == date


@given(dates)
def test_dates_written_the_american_way_read_back_when_month_comes_first(date):
    assert parse_date(date.strftime("%m/%d/%Y"), prefer_day_first=False) == date


@given(st.dates(min_value=dt.date(1927, 5, 18), max_value=dt.date(2173, 10, 14)))
def test_excel_serial_numbers_read_back(date):
    assert parse_date(str((date - EXCEL_EPOCH).days)) == date


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1234,5", "1234.5"),
        ("1234.5", "1234.5"),
        ("-12", "-12"),
        ("+12", "12"),
        ("  12 ", "12"),
        ("R$ 1.234,56", "1234.56"),
        ("R$1.234,56", "1234.56"),
        ("US$ 10.00", "10.00"),
        ("$10", "10"),
        ("10 €", "10"),
        ("BRL 99,90", "99.90"),
        ("-R$ 5,00", "-5.00"),
        ("R$ -5,00", "-5.00"),
        ("(1.234,56)", "-1234.56"),
        ("1.234,56-", "-1234.56"),
        ("−3,5", "-3.5"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("1.234.567", "1234567"),
        ("1,234,567.89", "1234567.89"),
        ("0,125", "0.125"),
        (",5", "0.5"),
        ("1E+05", "100000"),
        ("1.500", "1500"),
        ("1,500", "1500"),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == Decimal(expected)


def test_a_lone_separator_before_three_digits_follows_the_hint():
    assert parse_number("1,500", decimal_separator=",") == Decimal("1.5")
    assert parse_number("1.500", decimal_separator=".") == Decimal("1.5")
    assert parse_number("1.500", decimal_separator=",") == Decimal("1500")
    # Anything unambiguous ignores the hint.
    assert parse_number("1,234.56", decimal_separator=",") == Decimal("1234.56")


@pytest.mark.parametrize(
    "text", ["abc", "12abc", "R$", "--1", "1.2.3", "1,2,3", "1.234,5.6", "12%", "(12", "١٢"]
)
def test_parse_number_refuses_with_a_clear_message(text):
    with pytest.raises(ValueError) as caught:
        parse_number(text)
    assert str(caught.value) == (
        f"“{text.strip()}” is not a number; write it like 1234,56, 1.234,56 or 1,234.56."
    )


def test_empty_number():
    with pytest.raises(ValueError, match="The number is empty"):
        parse_number("  ")


amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=2
)


def _pt_br(number: Decimal, places: int) -> str:
    english = f"{number:,.{places}f}"
    return english.translate(str.maketrans({",": ".", ".": ","}))


@given(amounts, st.booleans())
def test_amounts_formatted_the_brazilian_way_read_back(number, currency):
    text = _pt_br(number, 2)
    if currency:
        text = f"R$ {text}"
    assert parse_number(text) == number


@given(amounts)
def test_amounts_formatted_the_english_way_read_back(number):
    assert parse_number(f"{number:,.2f}") == number
    assert parse_number(f"US$ {number:.2f}") == number


@given(st.decimals(min_value=0, max_value=Decimal("1e9"), allow_nan=False, places=3))
def test_three_decimals_read_back_with_the_hint(number):
    assert parse_number(_pt_br(number, 3), decimal_separator=",") == number
    assert parse_number(f"{number:,.3f}", decimal_separator=".") == number


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_whole_numbers_with_thousands_read_back(number):
    assert parse_number(_pt_br(Decimal(number), 0)) == number
    assert parse_number(f"{number:,}") == number


# ---------------------------------------------------------------------------------------------
# Yes / no


@pytest.mark.parametrize(
    "text", ["sim", "Sim", "S", "yes", "Y", "true", "TRUE", "verdadeiro", "V", "1", "x", " X "]
)
def test_yes(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize(
    "text", ["não", "NÃO", "nao", "n", "no", "N", "false", "FALSE", "falso", "F", "0", ""]
)
def test_no(text):
    assert parse_bool(text) is False


def test_neither_yes_nor_no():
    with pytest.raises(ValueError) as caught:
        parse_bool("talvez")
    assert str(caught.value) == (
        "“talvez” is not yes or no; write sim/não, yes/no, true/false or 1/0."
    )
