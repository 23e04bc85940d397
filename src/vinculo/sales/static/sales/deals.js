// Deals pages: drag and drop on the kanban board (SortableJS, from npm), the Move menu of each
// card, the lost-reason dialog, dialogs opened from links, and stage reordering in the
// pipeline settings. Loaded as a module with the CSP nonce; without it every action still works
// through plain forms and links.
import Sortable from "../vendor/sortablejs/sortable.esm.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content;

// --- talking to the server ---------------------------------------------------------------------
function boardFilters() {
  const form = document.querySelector(".board-filters");
  const values = new FormData();
  if (!form) return values;
  for (const name of ["owner", "team", "q"]) {
    const value = form.elements[name]?.value;
    if (value) values.append(name, value);
  }
  return values;
}

async function postMove(card, { stage, before, after, reason }) {
  const body = boardFilters();
  body.append("stage", stage);
  if (before) body.append("before", before);
  if (after) body.append("after", after);
  if (reason) body.append("lost_reason", reason);
  let response;
  try {
    response = await fetch(card.dataset.moveUrl, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
  } catch {
    return { ok: false };
  }
  const data = await response.json().catch(() => ({ ok: false }));
  return response.ok ? data : { ...data, ok: false };
}

// --- what the board shows ------------------------------------------------------------------------
const statusLine = () => document.getElementById("board-status");

function announce(text) {
  const line = statusLine();
  if (line) line.textContent = text;
}

function showError(message) {
  const region = document.querySelector("[data-board-region]");
  const template = document.getElementById("board-error-template");
  if (!region || !template) return;
  region.querySelectorAll(".board-error").forEach((old) => old.remove());
  const error = template.content.firstElementChild.cloneNode(true);
  error.textContent = message || statusLine()?.dataset.failed || "";
  region.prepend(error);
  announce(error.textContent);
}

function clearError() {
  document.querySelectorAll(".board-error").forEach((old) => old.remove());
}

function updateColumns(columns = []) {
  for (const column of columns) {
    const head = document.querySelector(`[data-column-head="${column.stage}"]`);
    if (!head) continue;
    const set = (selector, text) => {
      const el = head.querySelector(selector);
      if (el) el.textContent = text;
    };
    set("[data-count]", column.count_label);
    set("[data-amount]", column.amount);
    set("[data-weighted]", column.weighted);
  }
  document.querySelectorAll("[data-column-cards]").forEach((list) => {
    const empty = list.querySelector("[data-column-empty]");
    if (empty) empty.hidden = list.querySelector(".deal-card") !== null;
  });
}

function stageName(stageId) {
  return document.getElementById(`column-${stageId}`)?.textContent.trim() || "";
}

function neighbours(card) {
  let before = card.previousElementSibling;
  while (before && !before.matches(".deal-card")) before = before.previousElementSibling;
  let after = card.nextElementSibling;
  while (after && !after.matches(".deal-card")) after = after.nextElementSibling;
  return { before: before?.dataset.deal, after: after?.dataset.deal };
}

function listOf(stageId) {
  return document.querySelector(`[data-column-cards][data-stage-id="${stageId}"]`);
}

function afterMove(card, data) {
  clearError();
  const list = card.closest("[data-column-cards]");
  if (list && list.dataset.kind !== "open") list.querySelector("[data-column-empty]")?.after(card);
  updateColumns(data.columns);
  const select = card.querySelector('[data-move-form] select[name="stage"]');
  if (select) select.value = String(data.stage);
  const template = statusLine()?.dataset.moved || "";
  announce(template.replace("%(stage)s", stageName(data.stage)));
}

// --- the lost-reason dialog ----------------------------------------------------------------------
function askLostReason(card) {
  const dialog = document.getElementById("lost-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    const answer = window.prompt(document.getElementById("lost-dialog-title")?.textContent || "");
    return Promise.resolve(answer && answer.trim() ? answer.trim() : null);
  }
  const input = dialog.querySelector('input[name="lost_reason"]');
  dialog.querySelector("[data-lost-deal]").textContent = card.dataset.name || "";
  input.value = "";
  input.required = true;
  dialog.returnValue = "";
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const reason = input.value.trim();
        resolve(dialog.returnValue === "confirm" && reason ? reason : null);
      },
      { once: true },
    );
  });
}

// Enter in the reason field confirms (the form's first button is Cancel).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  const input = event.target.closest?.('#lost-dialog input[name="lost_reason"]');
  if (!input) return;
  event.preventDefault();
  if (input.value.trim()) input.closest("dialog").close("confirm");
});

document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-reason]");
  if (!chip) return;
  const input = chip.closest("form")?.querySelector('input[name="lost_reason"]');
  if (input) {
    input.value = chip.dataset.reason;
    input.focus();
  }
});

// --- drag and drop -----------------------------------------------------------------------------
async function dropped(event) {
  const card = event.item;
  const origin = card._origin;
  document.body.classList.remove("board-dragging");
  if (event.from === event.to && event.oldIndex === event.newIndex) return;
  const revert = () => {
    if (origin?.next && origin.next.parentElement === origin.parent) {
      origin.parent.insertBefore(card, origin.next);
    } else {
      const more = origin?.parent.querySelector("[data-column-more]");
      origin?.parent.insertBefore(card, more || null);
    }
    updateColumns([]);
  };
  const stage = event.to.dataset.stageId;
  let reason = "";
  if (event.to.dataset.kind === "lost" && event.from !== event.to) {
    reason = await askLostReason(card);
    if (reason === null) {
      revert();
      card.querySelector(".deal-card-name")?.focus();
      return;
    }
  }
  card.classList.add("is-saving");
  const data = await postMove(card, { stage, ...neighbours(card), reason });
  card.classList.remove("is-saving");
  if (!data.ok) {
    revert();
    showError(data.message);
    return;
  }
  afterMove(card, data);
}

function setUpBoard(root) {
  root.querySelectorAll("[data-board][data-can-move] [data-column-cards]").forEach((list) => {
    if (list.dataset.sortable) return;
    list.dataset.sortable = "1";
    Sortable.create(list, {
      group: "deals",
      // Won and lost columns list the latest closed first: cards go in, not up and down.
      sort: list.dataset.kind === "open",
      draggable: ".deal-card",
      // The Move menu keeps working as a menu: a press on it never starts a drag.
      filter: ".deal-card-move",
      preventOnFilter: false,
      animation: 150,
      ghostClass: "is-ghost",
      chosenClass: "is-chosen",
      // Pointer events rather than the browser's own drag and drop: the same on every browser,
      // mouse or touch, and the card in the air is not clipped by the scrolling board.
      forceFallback: true,
      fallbackOnBody: true,
      fallbackClass: "is-flying",
      fallbackTolerance: 4,
      // On touch screens a drag starts after a short press, so a swipe still scrolls.
      delay: 180,
      delayOnTouchOnly: true,
      onStart(event) {
        event.item._origin = { parent: event.from, next: event.item.nextElementSibling };
        document.body.classList.add("board-dragging");
      },
      onEnd: dropped,
    });
  });
}

// --- the Move menu of a card (keyboards, screen readers, phones) --------------------------------
document.addEventListener("submit", async (event) => {
  const form = event.target.closest?.("[data-move-form]");
  if (!form || !form.closest("[data-board]")) return;
  event.preventDefault();
  const card = form.closest(".deal-card");
  const stage = form.elements.stage.value;
  const target = listOf(stage);
  if (!target) {
    form.submit();
    return;
  }
  const moving = target !== card.parentElement;
  let reason = "";
  if (moving && target.dataset.kind === "lost") {
    reason = await askLostReason(card);
    if (reason === null) {
      form.elements.stage.focus();
      return;
    }
  }
  if (!moving) {
    form.closest("details")?.removeAttribute("open");
    return;
  }
  const data = await postMove(card, { stage, reason });
  if (!data.ok) {
    showError(data.message);
    form.elements.stage.focus();
    return;
  }
  form.closest("details")?.removeAttribute("open");
  target.querySelector("[data-column-empty]")?.after(card);
  afterMove(card, data);
  card.querySelector(".deal-card-move summary")?.focus();
});

// --- dialogs opened by links (a page without JavaScript follows the link instead) ---------------
document.addEventListener("click", (event) => {
  const trigger = event.target.closest("[data-open-dialog]");
  if (!trigger) return;
  const dialog = document.getElementById(trigger.dataset.openDialog);
  if (!dialog || typeof dialog.showModal !== "function") return;
  event.preventDefault();
  dialog.showModal();
  dialog.querySelector("input:not([type=hidden]), select, textarea")?.focus();
});

document.addEventListener("click", (event) => {
  const close = event.target.closest("[data-close-dialog]");
  if (close) close.closest("dialog")?.close();
});

// --- stage order in the pipeline settings --------------------------------------------------------
function setUpStageOrder(root) {
  root.querySelectorAll("[data-stage-order]").forEach((body) => {
    if (body.dataset.sortable) return;
    body.dataset.sortable = "1";
    Sortable.create(body, {
      handle: ".drag-handle",
      draggable: "tr",
      animation: 150,
      async onEnd(event) {
        if (event.oldIndex === event.newIndex) return;
        const form = new FormData();
        body.querySelectorAll("tr[data-stage]").forEach((row) => form.append("stage", row.dataset.stage));
        const response = await fetch(body.dataset.stageOrder, {
          method: "POST",
          body: form,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        });
        if (!response.ok) window.location.reload();
        const status = document.getElementById("stage-order-status");
        if (status) status.textContent = status.dataset.saved || "";
      },
    });
  });
}

function setUp(root) {
  setUpBoard(root);
  setUpStageOrder(root);
}

document.body.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.elt?.querySelectorAll) setUp(event.detail.elt.closest("[data-deals]") || document);
});
setUp(document);
