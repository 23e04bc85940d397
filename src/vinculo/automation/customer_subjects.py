"""Contacts and accounts as rule subjects, with their triggers. Sales, marketing and service
register their own records the same way from their apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.automation.subjects import FieldSpec, SubjectType, register_subject, register_trigger
from vinculo.contacts import services
from vinculo.contacts.models import Account, CompanySize, Contact, LifecycleStage

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

# Fields kept in line with what contacts.validation accepts; the names double as the keys of
# `data` for the update services ("owner" is translated to their "owner_id").
_ADDRESS = (
    FieldSpec("city", _("city"), "text"),
    FieldSpec("state", _("state"), "text"),
    FieldSpec("country", _("country"), "text"),
    FieldSpec("postal_code", _("postal code"), "text"),
)
_COMMON_TAIL = (
    FieldSpec("owner", _("owner"), "user"),
    FieldSpec("tags", _("tags"), "text", settable=False),
    FieldSpec("external_id", _("external id"), "text"),
    FieldSpec("created_at", _("created"), "datetime", settable=False),
    FieldSpec("updated_at", _("updated"), "datetime", settable=False),
    FieldSpec("last_activity_at", _("last activity"), "datetime", settable=False),
)

CONTACT_FIELDS = (
    FieldSpec("first_name", _("first name"), "text"),
    FieldSpec("last_name", _("last name"), "text"),
    FieldSpec("email", _("email"), "text"),
    FieldSpec("phone", _("phone"), "text"),
    FieldSpec("job_title", _("job title"), "text"),
    FieldSpec("lifecycle_stage", _("lifecycle stage"), "choice", tuple(LifecycleStage.choices)),
    FieldSpec("source", _("source"), "text"),
    FieldSpec("language", _("language"), "text"),
    FieldSpec("birthdate", _("birthdate"), "date"),
    *_ADDRESS,
    *_COMMON_TAIL,
)
ACCOUNT_FIELDS = (
    FieldSpec("name", _("name"), "text"),
    FieldSpec("domain", _("domain"), "text"),
    FieldSpec("industry", _("industry"), "text"),
    FieldSpec("size", _("size"), "choice", tuple(CompanySize.choices)),
    FieldSpec("phone", _("phone"), "text"),
    FieldSpec("website", _("website"), "text"),
    *_ADDRESS,
    *_COMMON_TAIL,
)


def _service_data(data: dict[str, Any]) -> dict[str, Any]:
    return {("owner_id" if key == "owner" else key): value for key, value in data.items()}


def _contact_update(*, workspace: Workspace, actor: User | None, obj: Contact, data: dict) -> Any:
    return services.contact_update(
        workspace=workspace, actor=actor, contact_id=obj.pk, data=_service_data(data)
    )


def _account_update(*, workspace: Workspace, actor: User | None, obj: Account, data: dict) -> Any:
    return services.account_update(
        workspace=workspace, actor=actor, account_id=obj.pk, data=_service_data(data)
    )


def _contact_tag(*, workspace: Workspace, actor: User | None, obj: Contact, name: str) -> Any:
    return services.contact_tag_add(workspace=workspace, actor=actor, contact_id=obj.pk, name=name)


def _account_tag(*, workspace: Workspace, actor: User | None, obj: Account, name: str) -> Any:
    return services.account_tag_add(workspace=workspace, actor=actor, account_id=obj.pk, name=name)


def _open_counts(model: Any) -> Any:
    def counts(*, workspace: Workspace, user_ids: list[int]) -> dict[int, int]:
        rows = (
            model.objects.for_workspace(workspace)
            .filter(owner_id__in=user_ids, deleted_at__isnull=True)
            .values("owner_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        found = {row["owner_id"]: row["n"] for row in rows}
        return {uid: found.get(uid, 0) for uid in user_ids}

    return counts


def _contact_url(obj: Contact) -> str:
    return reverse("contacts:detail", args=[obj.pk])


def _account_url(obj: Account) -> str:
    return reverse("contacts:account_detail", args=[obj.pk])


def _owner_email(obj: Any) -> str:
    return obj.email or ""


def register() -> None:
    register_subject(
        SubjectType(
            name="contact",
            label=pgettext_lazy("automation subject", "Contact"),
            model=Contact,
            module="contacts",
            fields=CONTACT_FIELDS,
            update=_contact_update,
            open_counts=_open_counts(Contact),
            related={"account": ("account", lambda obj: obj.account)},
            task_link="contact",
            email_of=_owner_email,
            add_tag=_contact_tag,
            url_of=_contact_url,
            live={"deleted_at__isnull": True},
        )
    )
    register_subject(
        SubjectType(
            name="account",
            label=pgettext_lazy("automation subject", "Account"),
            model=Account,
            module="accounts",
            fields=ACCOUNT_FIELDS,
            update=_account_update,
            open_counts=_open_counts(Account),
            task_link="account",
            email_of=None,
            add_tag=_account_tag,
            url_of=_account_url,
            live={"deleted_at__isnull": True},
        )
    )
    register_trigger("contact.created", label=_("A contact is created"), subject_type="contact")
    register_trigger("contact.updated", label=_("A contact is updated"), subject_type="contact")
    register_trigger("account.created", label=_("An account is created"), subject_type="account")
    register_trigger("account.updated", label=_("An account is updated"), subject_type="account")
