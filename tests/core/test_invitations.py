"""Inviting people by email and accepting the invitation, end to end through the pages."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event, Invitation, Membership, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import (
    InvitationUnusable,
    invitation_accept,
    invitation_create,
    workspace_update,
)

# The invitation email leaves after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "a long pass phrase 42"


@pytest.fixture
def admin_client(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def _invite(admin_client: Client, email: str, role: str = Role.SALES):
    return admin_client.post(
        reverse("settings:invitation_new"), {"email": email, "role": role}, **HTMX
    )


def _link(message: mail.EmailMessage) -> str:
    return re.search(r"https?://\S+/invitations/[\w-]+/", message.body).group(0)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def _token(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


# --- sending ---------------------------------------------------------------------------------


def test_an_invitation_is_emailed_with_a_link_in_the_workspace_language(
    admin_client, workspace, admin
):
    r = _invite(admin_client, "  New.Person@Example.TEST ", Role.MARKETING)
    assert r.status_code == 200
    invitation = Invitation.objects.for_workspace(workspace).get()
    assert (invitation.email, invitation.role, invitation.invited_by_id) == (
        "new.person@example.test",
        Role.MARKETING,
        admin.pk,
    )
    assert "new.person@example.test" in r.content.decode()
    [message] = mail.outbox
    assert message.to == ["new.person@example.test"]
    assert message.reply_to == [admin.email]
    assert message.subject == "Convite para participar de Acme Ltda no Vínculo"
    link = _link(message)
    assert link.startswith("http://testserver/invitations/")
    # Only a hash of the token is stored; the HTML part carries the same link.
    assert invitation.token_hash == hashlib.sha256(_token(link).encode()).hexdigest()
    assert _token(link) not in str(Event.objects.for_workspace(workspace).values_list("payload"))
    html = message.alternatives[0].content
    assert link in html
    assert Event.objects.for_workspace(workspace).filter(type="invitation.created").exists()


def test_a_workspace_in_english_invites_in_english(admin_client, workspace, admin):
    workspace_update(workspace=workspace, actor=admin, locale="en")
    _invite(admin_client, "someone@example.test")
    [message] = mail.outbox
    assert message.subject == "You are invited to join Acme Ltda on Vínculo"
    assert "Accept the invitation by opening this link" in message.body


@pytest.mark.parametrize(
    ("email", "field_code"),
    [("not-an-email", "email"), ("admin@acme.test", "email")],
)
def test_bad_or_member_addresses_are_refused_next_to_the_email(
    admin_client, workspace, email, field_code
):
    r = _invite(admin_client, email)
    assert r.status_code == 422
    assert f'id="id_{field_code}_error"' in r.content.decode()
    assert not Invitation.objects.for_workspace(workspace).exists()
    assert not mail.outbox


def test_a_second_invitation_to_the_same_address_is_refused(admin_client, workspace):
    _invite(admin_client, "twice@example.test")
    r = _invite(admin_client, "TWICE@example.test")
    assert r.status_code == 422
    assert 'id="id_email_error"' in r.content.decode()
    assert Invitation.objects.for_workspace(workspace).count() == 1
    assert len(mail.outbox) == 1


def test_only_admins_invite(workspace, make_member):
    client = Client()
    client.force_login(make_member("boss@acme.test", Role.MANAGER))
    r = client.post(reverse("settings:invitation_new"), {"email": "x@example.test"}, **HTMX)
    assert r.status_code == 403
    assert not mail.outbox


def test_resending_replaces_the_link(admin_client, client, workspace):
    _invite(admin_client, "late@example.test")
    first = _link(mail.outbox[0])
    invitation = Invitation.objects.for_workspace(workspace).get()
    r = admin_client.post(reverse("settings:invitation_resend", args=[invitation.pk]), **HTMX)
    assert r.status_code == 200
    second = _link(mail.outbox[1])
    assert first != second
    assert client.get(_path(first)).status_code == 404
    assert client.get(_path(second)).status_code == 200


def test_revoking_withdraws_the_link(admin_client, client, workspace):
    _invite(admin_client, "nope@example.test")
    link = _link(mail.outbox[0])
    invitation = Invitation.objects.for_workspace(workspace).get()
    admin_client.post(reverse("settings:invitation_revoke", args=[invitation.pk]), **HTMX)
    r = client.get(_path(link))
    assert r.status_code == 410
    assert "withdrawn" in r.content.decode() or "retirado" in r.content.decode()
    listed = admin_client.get(reverse("settings:users")).content.decode()
    assert "nope@example.test" not in listed


def test_another_workspaces_invitation_answers_404(admin_client, other_workspace, other_admin):
    foreign = invitation_create(
        workspace=other_workspace,
        actor=other_admin,
        email="x@example.test",
        role=Role.SALES,
        base_url="http://testserver/",
    )
    for name in ("invitation_resend", "invitation_revoke"):
        r = admin_client.post(reverse(f"settings:{name}", args=[foreign.pk]), **HTMX)
        assert r.status_code == 404, name
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert len(mail.outbox) == 1


def test_invitation_list_queries_do_not_grow(
    admin, admin_client, workspace, django_assert_max_num_queries
):
    for i in range(25):
        invitation_create(
            workspace=workspace,
            actor=admin,
            email=f"p{i}@example.test",
            role=Role.SALES,
            base_url="http://testserver/",
        )
    with django_assert_max_num_queries(12):
        r = admin_client.get(reverse("settings:users"))
    assert r.content.decode().count('id="invitation-') == 25


# --- accepting -------------------------------------------------------------------------------


def test_a_new_person_sets_name_and_password_and_joins_with_the_role(admin_client, workspace):
    _invite(admin_client, "new@example.test", Role.SERVICE)
    path = _path(_link(mail.outbox[0]))
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    assert "Acme Ltda" in page.content.decode()
    assert 'name="full_name"' in page.content.decode()

    r = visitor.post(
        path, {"full_name": "Nova Pessoa", "password": PASSWORD, "password_again": "other"}
    )
    assert r.status_code == 422
    assert 'id="id_password_again_error"' in r.content.decode()
    r = visitor.post(path, {"full_name": "", "password": "short", "password_again": "short"})
    assert r.status_code == 422
    html = r.content.decode()
    assert 'id="id_full_name_error"' in html
    assert not User.objects.filter(email="new@example.test").exists()

    r = visitor.post(
        path, {"full_name": "Nova Pessoa", "password": "short", "password_again": "short"}
    )
    assert r.status_code == 422
    assert 'id="id_password_error"' in r.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()

    r = visitor.post(
        path, {"full_name": "Nova Pessoa", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert r.status_code == 302
    assert r.url == reverse("home")
    user = User.objects.get(email="new@example.test")
    assert user.full_name == "Nova Pessoa"
    assert user.check_password(PASSWORD)
    membership = Membership.objects.for_workspace(workspace).get(user=user)
    assert (membership.role, membership.is_active) == (Role.SERVICE, True)
    # Logged in straight away, in the workspace they joined.
    assert visitor.get(reverse("settings:index")).url == reverse("settings:api_keys")
    types = list(Event.objects.for_workspace(workspace).values_list("type", flat=True))
    assert "invitation.accepted" in types and "membership.created" in types
    # The link is used up.
    again = Client().get(path)
    assert again.status_code == 410


def test_someone_with_an_account_logs_in_then_joins(admin_client, workspace, other_workspace):
    existing = User.objects.get(email="admin@globex.test")
    existing.set_password(PASSWORD)
    existing.save()
    _invite(admin_client, "admin@globex.test", Role.MANAGER)
    path = _path(_link(mail.outbox[0]))

    visitor = Client()
    page = visitor.get(path).content.decode()
    assert f"{reverse('account_login')}?next=" in page
    assert 'name="full_name"' not in page
    # Posting without logging in is refused: the account is someone's.
    r = visitor.post(path, {"full_name": "Intruder", "password": PASSWORD})
    assert r.status_code == 403
    assert not Membership.objects.for_workspace(workspace).filter(user=existing).exists()

    login = visitor.post(
        reverse("account_login"), {"login": existing.email, "password": PASSWORD, "next": path}
    )
    assert login.status_code == 302
    assert login.url == path
    assert (
        "Accept" in visitor.get(path).content.decode()
        or "Aceitar" in visitor.get(path).content.decode()
    )
    r = visitor.post(path)
    assert r.status_code == 302
    membership = Membership.objects.for_workspace(workspace).get(user=existing)
    assert membership.role == Role.MANAGER
    # Still a member of the workspace they had; the session now opens the new one.
    assert Membership.objects.for_workspace(other_workspace).filter(user=existing).exists()
    assert visitor.get(reverse("settings:workspace")).content.decode().count("Acme Ltda") >= 1


def test_logged_in_as_someone_else_you_are_asked_to_switch(admin_client, workspace):
    _invite(admin_client, "fresh@example.test")
    path = _path(_link(mail.outbox[0]))
    page = admin_client.get(path).content.decode()
    assert reverse("account_logout") in page
    assert 'name="full_name"' not in page
    r = admin_client.post(
        path, {"full_name": "X", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert r.status_code == 403
    assert not User.objects.filter(email="fresh@example.test").exists()
    # "Log out and continue" comes straight back to the invitation, now as a visitor.
    r = admin_client.post(reverse("account_logout"), {"next": path})
    assert r.status_code == 302
    assert r.url == path
    assert 'name="full_name"' in admin_client.get(path).content.decode()


def test_an_expired_link_gets_a_clear_page(admin_client, client, workspace):
    _invite(admin_client, "slow@example.test")
    path = _path(_link(mail.outbox[0]))
    Invitation.objects.for_workspace(workspace).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    r = client.get(path)
    assert r.status_code == 410
    assert "7" in r.content.decode()
    r = client.post(path, {"full_name": "Slow", "password": PASSWORD, "password_again": PASSWORD})
    assert r.status_code == 410
    assert not User.objects.filter(email="slow@example.test").exists()
    # The admin still sees it, marked expired, and can send it again.
    assert "slow@example.test" in admin_client.get(reverse("settings:users")).content.decode()


def test_an_unknown_link_is_404(client, db):
    r = client.get(reverse("invitation_accept", kwargs={"token": "x" * 43}))
    assert r.status_code == 404
    assert r.context["unusable"] == "unknown"


# --- the services directly -------------------------------------------------------------------


def _create(workspace: Workspace, admin: User, email: str = "svc@example.test") -> str:
    invitation_create(
        workspace=workspace, actor=admin, email=email, role=Role.SALES, base_url="http://x/"
    )
    return _token(_link(mail.outbox[-1]))


def test_a_link_cannot_be_accepted_twice(workspace, admin):
    token = _create(workspace, admin)
    invitation_accept(token=token, actor=None, full_name="Once", password=PASSWORD)
    with pytest.raises(InvitationUnusable) as exc:
        invitation_accept(token=token, actor=None, full_name="Twice", password=PASSWORD)
    assert exc.value.code == "accepted"
    assert User.objects.filter(email="svc@example.test").count() == 1


def test_accepting_needs_the_right_account(workspace, admin, other_admin):
    token = _create(workspace, admin)
    with pytest.raises(PermissionDenied) as exc:
        invitation_accept(token=token, actor=other_admin, full_name="X", password=PASSWORD)
    assert exc.value.code == "wrong-account"
    token = _create(workspace, admin, email=other_admin.email)
    with pytest.raises(PermissionDenied) as exc:
        invitation_accept(token=token, actor=None)
    assert exc.value.code == "login-required"


def test_a_new_account_reports_every_problem_at_once(workspace, admin):
    token = _create(workspace, admin)
    with pytest.raises(ValidationFailed) as exc:
        invitation_accept(token=token, actor=None, full_name=" ", password="123")
    assert {e.field for e in exc.value.errors} == {"full_name", "password"}


def test_unknown_tokens_are_not_found(db):
    with pytest.raises(NotFound):
        invitation_accept(token="nope", actor=None)


def test_a_deactivated_member_is_reactivated_rather_than_invited(
    admin_client, workspace, make_member
):
    gone = make_member("gone@acme.test", Role.SALES)
    Membership.objects.for_workspace(workspace).filter(user=gone).update(is_active=False)
    r = _invite(admin_client, "gone@acme.test")
    assert r.status_code == 422
    assert 'id="id_email_error"' in r.content.decode()


def test_a_refusing_mail_server_leaves_the_invitation_listed_to_send_again(
    admin_client, workspace, monkeypatch, caplog
):
    def refuse(self, fail_silently=False):
        raise OSError("connection refused")

    monkeypatch.setattr(mail.EmailMessage, "send", refuse)
    r = _invite(admin_client, "later@example.test")
    assert r.status_code == 200
    assert Invitation.objects.for_workspace(workspace).filter(email="later@example.test").exists()
    assert "could not email invitation" in caplog.text
    listed = admin_client.get(reverse("settings:users")).content.decode()
    assert "later@example.test" in listed
