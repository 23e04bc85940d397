"""`vinculo demo`: what it creates, that the same seed gives the same data, that the values are
valid, and that the credentials file and `--if-absent` behave."""

from __future__ import annotations

import argparse
import datetime as dt
import stat
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.db import connection
from django.db.models import Max
from email_validator import validate_email

from vinculo.contacts import demo
from vinculo.contacts.models import Account, AccountTag, Contact, ContactTag
from vinculo.contacts.search import (
    account_search_document,
    account_sort_name,
    contact_search_document,
    contact_sort_name,
    search_filter,
)
from vinculo.core.custom_fields import clean_value
from vinculo.core.exceptions import Conflict
from vinculo.core.models import (
    CustomFieldDefinition,
    Event,
    Membership,
    Team,
    TeamMember,
    User,
    Workspace,
)
from vinculo.core.roles import Role
from vinculo.timeline.models import Interaction, Note, Task

ANCHOR = dt.date(2026, 11, 2)
ANCHOR_START = dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)  # midnight in São Paulo


@pytest.fixture
def data_dir(settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def load(db: None, data_dir: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run `demo_load` and the after-commit work (the credentials file) as a real run would."""

    def run(slug: str = "demo", contacts: int = 80, seed: int = 7, **kwargs: Any) -> Any:
        kwargs.setdefault("anchor", ANCHOR)
        with django_capture_on_commit_callbacks(execute=True):
            return demo.demo_load(slug=slug, contacts=contacts, seed=seed, **kwargs)

    return run


def _contacts(ws: Workspace) -> list[tuple[Any, ...]]:
    rows = (
        Contact.objects.for_workspace(ws)
        .order_by("id")
        .values_list(
            "first_name", "last_name", "email", "emails", "phone", "phones", "job_title",
            "birthdate", "language", "lifecycle_stage", "source", "street", "city", "state",
            "postal_code", "country", "custom_fields", "sort_name", "search_document",
            "created_at", "updated_at", "last_activity_at", "owner__email", "account__name",
            "account__domain",
        )
    )  # fmt: skip
    return list(rows)


def _history(ws: Workspace) -> list[list[tuple[Any, ...]]]:
    """Interactions, tasks and notes, with the contact given by its position, not its id."""
    first_id = Contact.objects.for_workspace(ws).order_by("id").values_list("id", flat=True)[0]
    interactions = [
        (r[0] - first_id, *r[1:])
        for r in Interaction.objects.for_workspace(ws)
        .order_by("id")
        .values_list(
            "contact_id", "account__name", "channel", "direction", "occurred_at", "subject",
            "body", "outcome", "duration_seconds", "author__email",
        )
    ]  # fmt: skip
    tasks = [
        (r[0] - first_id, *r[1:])
        for r in Task.objects.for_workspace(ws)
        .order_by("id")
        .values_list(
            "contact_id", "title", "description", "due_at", "reminder_at", "reminded_at",
            "status", "completed_at", "assignee__email", "created_at",
        )
    ]  # fmt: skip
    notes = [
        (r[0] - first_id, *r[1:])
        for r in Note.objects.for_workspace(ws)
        .order_by("id")
        .values_list("contact_id", "body", "author__email", "pinned", "created_at")
    ]
    return [interactions, tasks, notes]


def test_demo_creates_a_full_workspace(load: Callable[..., Any]) -> None:
    result = load(contacts=80)
    ws = result.workspace
    assert ws.slug == "demo"
    assert ws.name == "Demo Comércio Ltda"
    assert result.created
    assert result.counts["contacts"] == Contact.objects.for_workspace(ws).count() == 80
    assert result.counts["accounts"] == Account.objects.for_workspace(ws).count() == 11
    interactions = Interaction.objects.for_workspace(ws).count()
    assert result.counts["interactions"] == interactions
    # A rich history at small sizes: about 15 interactions per contact.
    assert 8 * 80 < interactions < 25 * 80
    assert Task.objects.for_workspace(ws).count() == result.counts["tasks"] > 80
    assert Note.objects.for_workspace(ws).count() == result.counts["notes"] > 40
    assert ContactTag.objects.for_workspace(ws).exists()
    assert AccountTag.objects.for_workspace(ws).exists() or result.counts["accounts"] < 20

    roles = Counter(Membership.objects.for_workspace(ws).values_list("role", flat=True))
    assert roles == {
        Role.ADMIN: 1,
        Role.MANAGER: 1,
        Role.SALES: 6,
        Role.MARKETING: 1,
        Role.SERVICE: 2,
        Role.READ_ONLY: 1,
    }
    teams = Team.objects.for_workspace(ws)
    assert teams.count() == 2
    for team in teams:
        members = TeamMember.objects.for_workspace(ws).filter(team=team)
        assert members.count() == 3
        assert team.lead_id in set(members.values_list("user_id", flat=True))
    assert CustomFieldDefinition.objects.for_workspace(ws).count() == len(demo.words.CUSTOM_FIELDS)


def test_the_admin_finds_tasks_waiting(load: Callable[..., Any]) -> None:
    result = load(contacts=80)
    ws = result.workspace
    admin = User.objects.get(email=demo.ADMIN_EMAIL)
    tasks = Task.objects.for_workspace(ws).filter(assignee=admin, status="open")
    assert tasks.count() == demo.ADMIN_TASKS == result.counts["admin_tasks"]
    assert admin.full_name == "Administração Demo"  # the name shown in the user menu
    midnight = dt.datetime.combine(ANCHOR, dt.time.min, ZoneInfo(ws.time_zone))
    days = sorted((t.due_at - midnight).days for t in tasks)
    assert days[:3] == [-3, -2, -1]  # overdue
    assert days[3:6] == [0, 0, 0]  # today
    assert all(d > 0 for d in days[6:])  # coming days


def test_history_spans_two_years_up_to_the_anchor(load: Callable[..., Any]) -> None:
    ws = load(contacts=80).workspace
    moments = Interaction.objects.for_workspace(ws).values_list("occurred_at", flat=True)
    assert max(moments) < ANCHOR_START
    assert min(moments) >= ANCHOR_START - dt.timedelta(days=demo.HISTORY_DAYS)
    assert max(moments) - min(moments) > dt.timedelta(days=600)
    channels = set(Interaction.objects.for_workspace(ws).values_list("channel", flat=True))
    assert channels == {k[0] for k in demo.words.KINDS_PT}
    directions = set(Interaction.objects.for_workspace(ws).values_list("direction", flat=True))
    assert directions == {"inbound", "outbound"}
    assert Interaction.objects.for_workspace(ws).filter(duration_seconds__gt=0).exists()

    tasks = Task.objects.for_workspace(ws)
    day_end = ANCHOR_START + dt.timedelta(days=1)
    assert tasks.filter(status="open", due_at__lt=ANCHOR_START).exists()  # overdue
    assert tasks.filter(status="open", due_at__gte=ANCHOR_START, due_at__lt=day_end).exists()
    assert tasks.filter(status="open", due_at__gte=day_end).exists()  # coming up
    assert tasks.filter(status="done", completed_at__isnull=False).exists()
    assert not tasks.filter(status="done", completed_at__isnull=True).exists()
    assert not tasks.filter(completed_at__gte=ANCHOR_START).exists()
    # Reminders already due count as sent, so the worker does not fire two years of them.
    assert not tasks.filter(reminder_at__lt=ANCHOR_START, reminded_at__isnull=True).exists()
    assert not tasks.filter(reminder_at__gte=ANCHOR_START, reminded_at__isnull=False).exists()


def test_same_seed_same_data_other_seed_other_data(load: Callable[..., Any]) -> None:
    one = load(slug="demo-one", seed=11, contacts=60).workspace
    two = load(slug="demo-two", seed=11, contacts=60).workspace
    other = load(slug="demo-three", seed=12, contacts=60).workspace
    assert _contacts(one) == _contacts(two)
    assert _history(one) == _history(two)
    assert _contacts(one) != _contacts(other)
    assert _history(one) != _history(other)


# pytest-xdist runs tests in a process with threads of its own; the child only generates rows.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_generation_in_a_child_process_gives_the_same_rows(load: Callable[..., Any]) -> None:
    serial = load(slug="serial", contacts=70, chunk=20, parallel=False).workspace
    forked = load(slug="forked", contacts=70, chunk=20, parallel=True).workspace
    assert _contacts(serial) == _contacts(forked)
    assert _history(serial) == _history(forked)


def test_rebuilding_indexes_keeps_every_index(load: Callable[..., Any]) -> None:
    def index_names() -> set[str]:
        with connection.cursor() as cursor:
            tables = ["contacts_contact", "contacts_account", "timeline_interaction"]
            return {
                name
                for table in tables
                for name in connection.introspection.get_constraints(cursor, table)
            }

    before = index_names()
    ws = load(contacts=40, rebuild_indexes_from=1).workspace
    assert index_names() == before
    some = Contact.objects.for_workspace(ws).order_by("id")[5]
    # The search index was fed by the ordinary insert path (SQLite: FTS5 triggers).
    found = search_filter(Contact.objects.for_workspace(ws), some.first_name)
    assert some in found


def test_emails_and_phones_are_valid(load: Callable[..., Any]) -> None:
    ws = load(contacts=150, seed=3).workspace
    contacts = list(Contact.objects.for_workspace(ws))
    emails = [e for c in contacts for e in c.emails]
    phones = [p for c in contacts for p in c.phones]
    assert len(emails) > 120 and len(phones) > 120
    for email in emails:
        assert validate_email(email, check_deliverability=False).normalized == email
    for phone in phones + list(Account.objects.for_workspace(ws).values_list("phone", flat=True)):
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone
    for contact in contacts:
        assert contact.email == (contact.emails[0] if contact.emails else "")
        assert contact.phone == (contact.phones[0] if contact.phones else "")
    assert len({c.email for c in contacts if c.email}) == len([c for c in contacts if c.email])
    # Mostly Brazilian customers, some English-speaking ones in the US.
    languages = Counter(c.language for c in contacts)
    assert languages["pt-br"] > languages["en"] > 0
    assert {c.country for c in contacts} == {"BR", "US"}
    stages = Counter(c.lifecycle_stage for c in contacts)
    assert set(stages) >= {"lead", "customer", "opportunity", "subscriber"}


def test_search_fields_are_what_the_contacts_service_writes(load: Callable[..., Any]) -> None:
    ws = load(contacts=60).workspace
    for contact in Contact.objects.for_workspace(ws).select_related("account"):
        company = contact.account.name if contact.account else ""
        assert contact.search_document == contact_search_document(
            first_name=contact.first_name,
            last_name=contact.last_name,
            emails=contact.emails,
            phones=contact.phones,
            company=company,
        )
        assert contact.sort_name == contact_sort_name(
            first_name=contact.first_name, last_name=contact.last_name, email=contact.email
        )
    for account in Account.objects.for_workspace(ws):
        assert account.search_document == account_search_document(
            name=account.name, domain=account.domain, phone=account.phone
        )
        assert account.sort_name == account_sort_name(name=account.name)


def test_custom_field_values_fit_their_definitions(load: Callable[..., Any]) -> None:
    ws = load(contacts=80).workspace
    definitions = {
        (d.object_type, d.key): d for d in CustomFieldDefinition.objects.for_workspace(ws)
    }
    seen = 0
    for object_type, model in (("contact", Contact), ("account", Account)):
        for values in model.objects.for_workspace(ws).values_list("custom_fields", flat=True):
            for key, value in values.items():
                assert clean_value(definitions[(object_type, key)], value) == value
                seen += 1
    assert seen > 40


def test_last_activity_is_the_latest_interaction(load: Callable[..., Any]) -> None:
    ws = load(contacts=60).workspace
    latest = dict(
        Interaction.objects.for_workspace(ws)
        .values("contact_id")
        .annotate(m=Max("occurred_at"))
        .values_list("contact_id", "m")
    )
    for contact_id, value in Contact.objects.for_workspace(ws).values_list(
        "id", "last_activity_at"
    ):
        assert value == latest.get(contact_id)
    for account in Account.objects.for_workspace(ws):
        expected = (
            Interaction.objects.for_workspace(ws)
            .filter(contact__account=account)
            .aggregate(m=Max("occurred_at"))["m"]
        )
        assert account.last_activity_at == expected


def test_every_record_links_within_its_workspace(load: Callable[..., Any]) -> None:
    load(slug="first", contacts=40, seed=1)
    ws = load(slug="second", contacts=40, seed=2).workspace
    members = set(Membership.objects.for_workspace(ws).values_list("user_id", flat=True))
    contacts = Contact.objects.for_workspace(ws)
    assert not contacts.exclude(account__isnull=True).exclude(account__workspace=ws).exists()
    assert set(contacts.values_list("owner_id", flat=True)) - {None} <= members
    for model in (Interaction, Task, Note):
        rows = model.objects.for_workspace(ws)
        assert rows.exists()
        assert not rows.exclude(contact__workspace=ws).exists()
        assert not rows.exclude(account__isnull=True).exclude(account__workspace=ws).exists()
        # The account of a timeline item is its contact's account.
        assert all(r.account_id == r.contact.account_id for r in rows.select_related("contact"))
    people = set(Interaction.objects.for_workspace(ws).values_list("author_id", flat=True))
    people |= set(Task.objects.for_workspace(ws).values_list("assignee_id", flat=True))
    people |= set(Note.objects.for_workspace(ws).values_list("author_id", flat=True))
    assert people - {None} <= members
    for model in (ContactTag, AccountTag):
        links = model.objects.for_workspace(ws)
        assert not links.exclude(tag__workspace=ws).exists()


def test_demo_events_are_already_dispatched(load: Callable[..., Any]) -> None:
    ws = load(contacts=30).workspace
    events = Event.objects.for_workspace(ws)
    loaded = events.get(type="demo.loaded")
    assert loaded.payload["anchor"] == ANCHOR.isoformat()
    assert loaded.payload["seed"] == 7
    assert not events.filter(dispatched_at__isnull=True).exists()


def test_credentials_file_is_private_and_its_passwords_work(
    load: Callable[..., Any], data_dir: Any
) -> None:
    result = load(contacts=20)
    path = data_dir / demo.CREDENTIALS_FILENAME
    assert result.credentials_path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logins = demo._read_credentials(path)
    assert set(logins) == {email for email, *_ in demo.STAFF}
    assert result.admin_password == logins["admin@example.com"]
    for email, password in logins.items():
        assert User.objects.get(email=email).check_password(password)
    # A second workspace keeps the same logins working.
    load(slug="other", contacts=20)
    assert demo._read_credentials(path) == logins
    assert "other\tadmin@example.com" in path.read_text()


def _args(**kwargs: Any) -> argparse.Namespace:
    values = {"workspace": "demo", "contacts": 25, "seed": 1, "if_absent": False, **kwargs}
    return argparse.Namespace(**values)


def test_if_absent_does_nothing_the_second_time(
    db: None,
    data_dir: Any,
    capsys: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv(demo.ANCHOR_ENV, ANCHOR.isoformat())
    with django_capture_on_commit_callbacks(execute=True):
        assert demo.demo_command(_args(if_absent=True)) == 0
    first = capsys.readouterr().out
    password = demo._read_credentials(data_dir / demo.CREDENTIALS_FILENAME)["admin@example.com"]
    assert f"admin@example.com with password {password}" in first
    ws = Workspace.objects.get(slug="demo")
    counts = (Contact.objects.for_workspace(ws).count(), Event.objects.for_workspace(ws).count())
    file_before = (data_dir / demo.CREDENTIALS_FILENAME).read_text()

    with django_capture_on_commit_callbacks(execute=True):
        assert demo.demo_command(_args(if_absent=True, contacts=40)) == 0
    second = capsys.readouterr().out
    assert "already has data" in second
    assert f"admin@example.com with password {password}" in second
    assert (Contact.objects.for_workspace(ws).count(), Event.objects.for_workspace(ws).count()) == (
        counts
    )
    assert (data_dir / demo.CREDENTIALS_FILENAME).read_text() == file_before

    # Without --if-absent an existing demo is an error, not a second helping of data.
    assert demo.demo_command(_args()) == 2
    assert "already has data" in capsys.readouterr().err
    with pytest.raises(Conflict):
        demo.demo_load(slug="demo", contacts=10, seed=1)


def test_bad_anchor_is_refused(db: None, data_dir: Any, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv(demo.ANCHOR_ENV, "1st of November")
    assert demo.demo_command(_args()) == 2
    assert demo.ANCHOR_ENV in capsys.readouterr().err
    assert not Workspace.objects.filter(slug="demo").exists()


def test_history_depth_thins_out_with_size() -> None:
    assert demo.history_depth(2000) == 15.0
    assert 2.0 <= demo.history_depth(1_000_000) <= 3.0
    sizes = [1000, 10_000, 100_000, 1_000_000]
    depths = [demo.history_depth(n) for n in sizes]
    assert depths == sorted(depths, reverse=True)
