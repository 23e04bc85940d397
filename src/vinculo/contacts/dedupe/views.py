"""Pages of dedupe: the review queue (with its scan and progress), the merge screen, and the
"already exists" warning of the create and edit forms. Views parse, call one service or
selector, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.contacts.dedupe import forms, selectors, services
from vinculo.contacts.dedupe.services import OTHER, SURVIVOR
from vinculo.contacts.views import _definitions, _htmx, _id, _ids, _url_maker
from vinculo.core.access import can
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.roles import Right

PAGE_SIZE = 25
_KINDS = {"contact": "contact", "contacts": "contact", "account": "account", "accounts": "account"}

WORDS: dict[str, dict[str, Any]] = {
    "contact": {
        "list": "contacts:list",
        "detail": "contacts:detail",
        "records": gettext_lazy("Contacts"),
        "title": gettext_lazy("Duplicate contacts"),
        "merge_title": gettext_lazy("Merge two contacts"),
        "confirm": gettext_lazy(
            "Merge these two contacts? The other one is deleted and everything linked to it "
            "moves to the one you keep."
        ),
        "merged": gettext_lazy("Contacts merged: “%(name)s” holds the history of both."),
        "kind": gettext_lazy("Contact"),
    },
    "account": {
        "list": "contacts:accounts",
        "detail": "contacts:account_detail",
        "records": gettext_lazy("Accounts"),
        "title": gettext_lazy("Duplicate accounts"),
        "merge_title": gettext_lazy("Merge two accounts"),
        "confirm": gettext_lazy(
            "Merge these two accounts? The other one is deleted and its people and history "
            "move to the one you keep."
        ),
        "merged": gettext_lazy("Accounts merged: “%(name)s” holds the history of both."),
        "kind": gettext_lazy("Account"),
    },
}


def _kind(raw: str | None) -> str:
    kind = _KINDS.get((raw or "contact").strip().lower())
    if kind is None:
        raise Http404("unknown kind of record")
    return kind


def _rights(workspace: Workspace, user: User, kind: str) -> dict[str, bool]:
    module = services.OBJECT_TYPES[kind]
    edit = can(workspace=workspace, user=user, module=module, right=Right.EDIT)
    delete = can(workspace=workspace, user=user, module=module, right=Right.DELETE)
    return {"can_scan": edit, "can_dismiss": edit, "can_merge": edit and delete}


def _name(record: Any) -> str:
    return str(record.display_name if hasattr(record, "display_name") else record.name)


def _pair_rows(pairs: list[selectors.DuplicatePair], kind: str) -> list[dict[str, Any]]:
    record_url = _url_maker(WORDS[kind]["detail"])
    merge_url = _url_maker("contacts:duplicate_merge")
    rows = []
    for pair in pairs:
        words, color = forms.score_words(pair.candidate.score)
        rows.append(
            {
                "pair": pair,
                "score": round(pair.candidate.score),
                "score_words": words,
                "score_color": color,
                "reasons": [forms.reason_text(r) for r in pair.candidate.reasons],
                "sides": [
                    {
                        "record": record,
                        "name": _name(record),
                        "url": record_url(record.pk),
                        "facts": forms.side_facts(record),
                    }
                    for record in (pair.first, pair.second)
                ],
                "merge_url": merge_url(pair.candidate.pk),
            }
        )
    return rows


def _scan_context(scan: Any) -> dict[str, Any]:
    return {
        "scan": scan,
        "poll_url": reverse("contacts:duplicate_scan_progress", args=[scan.pk]) if scan else "",
    }


@login_required
@require_GET
@domain_errors
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """The review queue of contacts or accounts (`?object=`): open pairs, likeliest first,
    each with its two records side by side and why they look alike; the last scan and a
    button for a new one. `?cursor=` with htmx answers the next pairs alone."""
    workspace, user = _context(request)
    kind = _kind(request.GET.get("object"))
    scan = selectors.duplicate_scan_latest(workspace=workspace, viewer=user, object_type=kind)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.duplicate_queue(
            workspace=workspace, viewer=user, object_type=kind, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed as exc:
        raise Http404("bad cursor") from exc
    next_url = (
        f"{reverse('contacts:duplicate_list')}?object={kind}&cursor={page.next_cursor}"
        if page.next_cursor
        else ""
    )
    context: dict[str, Any] = {
        "kind": kind,
        "words": WORDS[kind],
        "rows": _pair_rows(page.items, kind),
        "next_url": next_url,
        **_scan_context(scan),
        **_rights(workspace, user, kind),
    }
    if cursor and _htmx(request):
        return render(request, "contacts/dedupe/list.html#pairs", context)
    context["open_count"] = selectors.duplicate_open_count(
        workspace=workspace, viewer=user, object_type=kind
    )
    return render(request, "contacts/dedupe/list.html", context)


@login_required
@require_POST
@domain_errors
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    """Start a scan (or show the one running); the queue then shows its progress."""
    workspace, user = _context(request)
    kind = _kind(request.POST.get("object"))
    scan = services.duplicate_scan_start(workspace=workspace, actor=user, object_type=kind)
    if _htmx(request):
        return render(
            request, "contacts/dedupe/list.html#scan", {"kind": kind, **_scan_context(scan)}
        )
    return HttpResponseRedirect(f"{reverse('contacts:duplicate_list')}?object={kind}")


@login_required
@require_GET
@domain_errors
def duplicate_scan_progress(request: HttpRequest, scan_id: int) -> HttpResponse:
    """The scan's progress bar again (polled every second); once the scan is over, the page
    reloads to show what it found."""
    workspace, user = _context(request)
    scan = selectors.duplicate_scan_get(workspace=workspace, viewer=user, scan_id=scan_id)
    response = render(
        request, "contacts/dedupe/progress.html", {"kind": scan.object_type, **_scan_context(scan)}
    )
    if not scan.is_active:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
@domain_errors
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Not duplicates: the pair leaves the queue (htmx removes its card)."""
    workspace, user = _context(request)
    candidate = services.duplicate_dismiss(workspace=workspace, actor=user, candidate_id=pk)
    if _htmx(request):
        return render(request, "contacts/dedupe/list.html#dismissed", {})
    messages.success(request, _("Marked as not duplicates."))
    return HttpResponseRedirect(
        f"{reverse('contacts:duplicate_list')}?object={candidate.object_type}"
    )


# --- merge ---------------------------------------------------------------------------------------


def _merge_page(
    request: HttpRequest,
    *,
    kind: str,
    ids: tuple[int, int],
    candidate_id: int | None = None,
) -> HttpResponse:
    """The merge screen of two records (GET) and the merge itself (POST). The survivor is
    the first id unless `survivor` (query or form) names the other one."""
    workspace, user = _context(request)
    wanted = _id(request.POST.get("survivor_id") or request.GET.get("survivor"))
    survivor_id, other_id = (ids[1], ids[0]) if wanted == ids[1] else ids
    sides = selectors.merge_sides(
        workspace=workspace,
        viewer=user,
        object_type=kind,
        survivor_id=survivor_id,
        other_id=other_id,
    )
    rights = _rights(workspace, user, kind)
    errors: list[str] = []
    chosen: dict[str, str] | None = None
    if request.method == "POST":
        chosen = forms.posted_choices(request.POST)
        merge = services.contact_merge if kind == "contact" else services.account_merge
        try:
            survivor = merge(
                workspace=workspace,
                actor=user,
                survivor_id=survivor_id,
                other_id=other_id,
                choices=chosen,
            )
        except ValidationFailed as exc:
            errors = [e.message for e in exc.errors]
        else:
            messages.success(request, WORDS[kind]["merged"] % {"name": _name(survivor)})
            return HttpResponseRedirect(reverse(WORDS[kind]["detail"], args=[survivor.pk]))
    definitions = [d for d in _definitions(workspace, user, kind) if d.object_type == kind]
    here = request.path
    context = {
        "kind": kind,
        "words": WORDS[kind],
        "sides": sides,
        "survivor_name": _name(sides.survivor),
        "other_name": _name(sides.other),
        "survivor_url": reverse(WORDS[kind]["detail"], args=[sides.survivor.pk]),
        "other_url": reverse(WORDS[kind]["detail"], args=[sides.other.pk]),
        "swap_url": f"{here}?{_swap_query(request, kind, ids, sides.other.pk)}",
        "rows": forms.merge_rows(
            sides, definitions=definitions, currency=workspace.currency, chosen=chosen
        ),
        "tags": forms.united_tags(sides),
        "moving": forms.moving_words(sides),
        "errors": errors,
        "candidate_id": candidate_id,
        "survivor_value": SURVIVOR,
        "other_value": OTHER,
        **rights,
    }
    return render(request, "contacts/dedupe/merge.html", context, status=422 if errors else 200)


def _swap_query(request: HttpRequest, kind: str, ids: tuple[int, int], survivor: int) -> str:
    if request.resolver_match and request.resolver_match.url_name == "duplicate_merge":
        return f"survivor={survivor}"
    return f"ids={ids[0]},{ids[1]}&survivor={survivor}"


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """The merge screen of a pair from the queue."""
    workspace, user = _context(request)
    candidate = selectors.duplicate_get(workspace=workspace, viewer=user, candidate_id=pk)
    return _merge_page(
        request,
        kind=candidate.object_type,
        ids=(candidate.first_id, candidate.second_id),
        candidate_id=candidate.pk,
    )


def _merge_records(request: HttpRequest, kind: str) -> HttpResponse:
    raw = request.GET.get("ids") or request.POST.get("ids") or ""
    ids = _ids(raw.split(","))
    if len(ids) != 2 or ids[0] == ids[1]:
        raise Http404("choose two records")
    return _merge_page(request, kind=kind, ids=(ids[0], ids[1]))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def duplicate_merge_contacts(request: HttpRequest) -> HttpResponse:
    """The merge screen of any two contacts (`?ids=a,b`)."""
    return _merge_records(request, "contact")


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def duplicate_merge_accounts(request: HttpRequest) -> HttpResponse:
    """The merge screen of any two accounts (`?ids=a,b`)."""
    return _merge_records(request, "account")


# --- "already exists" ----------------------------------------------------------------------------


@login_required
@require_GET
@domain_errors
def duplicate_check(request: HttpRequest) -> HttpResponse:
    """The warning beside the email and phone inputs (or an account's domain) of the create
    and edit forms: the live records that already hold what was typed, with links. Empty
    when there are none; saving stays allowed either way."""
    workspace, user = _context(request)
    kind = _kind(request.GET.get("object"))
    exclude = _id(request.GET.get("exclude"))
    if kind == "contact":
        found = selectors.contact_duplicate_check(
            workspace=workspace,
            viewer=user,
            emails=request.GET.getlist("emails") + request.GET.getlist("email"),
            phones=request.GET.getlist("phones") + request.GET.getlist("phone"),
            country=request.GET.get("country", ""),
            exclude_id=exclude,
        )
    else:
        found = selectors.account_duplicate_check(
            workspace=workspace,
            viewer=user,
            domain=request.GET.get("domain", ""),
            exclude_id=exclude,
        )
    record_url = _url_maker(WORDS[kind]["detail"])
    merge_name = (
        "contacts:duplicate_merge_contacts"
        if kind == "contact"
        else ("contacts:duplicate_merge_accounts")
    )
    matches = [
        {
            "match": match,
            "url": record_url(match.id),
            "merge_url": f"{reverse(merge_name)}?ids={exclude},{match.id}" if exclude else "",
        }
        for match in found
    ]
    return render(
        request,
        "contacts/dedupe/check.html",
        {
            "kind": kind,
            "matches": matches,
            "can_merge": _rights(workspace, user, kind)["can_merge"],
        },
    )
