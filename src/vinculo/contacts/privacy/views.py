"""The privacy panel of a contact's page: consent state and log, recording consent or its
withdrawal, the personal-data download and erasure. The panel is loaded into the record page
with htmx and answers its own forms; views parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vinculo.contacts.models import ConsentSource
from vinculo.contacts.privacy import selectors, services
from vinculo.contacts.privacy.forms import GRANT, WITHDRAW, ConsentForm, EraseForm
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context

PANEL = "contacts/privacy/panel.html#panel"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _detail_url(pk: int) -> str:
    return reverse("contacts:detail", args=[pk])


def _panel(
    request: HttpRequest,
    pk: int,
    *,
    consent_form: ConsentForm | None = None,
    erase_form: EraseForm | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    workspace, user = _context(request)
    panel = selectors.privacy_panel(workspace=workspace, viewer=user, contact_id=pk)
    name = panel.contact.display_name
    consent_open = consent_form is not None
    if consent_form is None:
        # A row's "Withdraw" or "Record consent" opens the form for that purpose.
        purpose = request.GET.get("purpose", "")
        decision = WITHDRAW if request.GET.get("decision") == WITHDRAW else GRANT
        consent_open = bool(purpose)
        known = dict(panel.purposes)
        consent_form = ConsentForm(
            auto_id="consent-%s",
            initial={
                "purpose": purpose if purpose in known else "",
                "other_purpose": "" if purpose in known else purpose,
                "decision": decision,
                "source": ConsentSource.STAFF,
            },
        )
        if consent_open:
            # Opened from a row: the purpose and decision are set, the wording is next.
            consent_form.fields["wording"].widget.attrs["autofocus"] = True
    context: dict[str, Any] = {
        "panel": panel,
        "contact": panel.contact,
        "consent_form": consent_form,
        "consent_open": consent_open,
        "erase_form": erase_form or EraseForm(auto_id="erase-%s", person_name=name),
        "erase_open": erase_form is not None,
        "notice": notice,
    }
    return render(request, PANEL, context, status=status)


@login_required
@require_GET
@domain_errors
def privacy_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel (loaded by the record page); `?purpose=…&decision=withdraw` opens the
    consent form for that purpose."""
    return _panel(request, pk)


@login_required
@require_POST
@domain_errors
def privacy_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a grant or a withdrawal; answers the panel (status 422 with the form's errors)."""
    workspace, user = _context(request)
    form = ConsentForm(request.POST, auto_id="consent-%s")
    form.is_valid()
    try:
        entry = services.consent_record(
            workspace=workspace,
            actor=user,
            contact_id=pk,
            **form.to_data(),
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _answer_error(request, pk, consent_form=form)
    except services.ContactErased as exc:
        form.add_error(None, exc.detail)
        return _answer_error(request, pk, consent_form=form)
    label = services.purpose_label(entry.purpose)
    notice = (
        _("Consent for “%(purpose)s” recorded.")
        if entry.granted
        else _("Withdrawal for “%(purpose)s” recorded.")
    ) % {"purpose": label}
    if not _is_htmx(request):
        messages.success(request, notice)
        return HttpResponseRedirect(_detail_url(pk))
    response = _panel(request, pk, notice=notice)
    # The timeline lists the new consent event.
    response["HX-Trigger"] = "timeline-changed"
    return response


def _answer_error(request: HttpRequest, pk: int, **forms: Any) -> HttpResponse:
    if not _is_htmx(request):
        for form in forms.values():
            for errors in form.errors.values():
                for message in errors:
                    messages.error(request, message)
        return HttpResponseRedirect(_detail_url(pk))
    return _panel(request, pk, status=422, **forms)


@login_required
@require_POST
@domain_errors
def privacy_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's data as a ZIP download (a POST: each download is recorded)."""
    workspace, user = _context(request)
    data = services.contact_data_export(workspace=workspace, actor=user, contact_id=pk)
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    # No name in the file name: it shows in download lists and logs.
    response["Content-Disposition"] = f'attachment; filename="personal-data-{pk}-{stamp}.zip"'
    return response


@login_required
@require_POST
@domain_errors
def privacy_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the person's data once the reason is given and the name (or ERASE) typed; then
    the whole page reloads to show the erased record."""
    workspace, user = _context(request)
    contact = selectors.privacy_panel(workspace=workspace, viewer=user, contact_id=pk).contact
    form = EraseForm(request.POST, auto_id="erase-%s", person_name=contact.display_name)
    if form.is_valid():
        try:
            services.contact_erase(
                workspace=workspace,
                actor=user,
                contact_id=pk,
                reason=form.cleaned_data.get("reason") or "",
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except services.ContactErased as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, _("The person's personal data was erased."))
            if _is_htmx(request):
                response = HttpResponse()
                response["HX-Redirect"] = _detail_url(pk)
                return response
            return HttpResponseRedirect(_detail_url(pk))
    return _answer_error(request, pk, erase_form=form)
