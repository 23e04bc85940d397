// Contacts and accounts pages: row selection and its actions, facts edited in place, lists of
// emails/phones, and the company picker. Loaded as a module with the CSP nonce; everything is
// delegated from the document so it keeps working on content htmx swaps in.

// Forms here answer 422 with their field errors: swap those in (htmx leaves 4xx alone).
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422 && event.detail.elt?.closest?.("[data-contacts]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// The search box filters as one types; its "change" on blur would only fetch the same list
// again and close whatever menu the person opened meanwhile.
document.addEventListener(
  "change",
  (event) => {
    if (event.target.id === "filter-q") event.stopPropagation();
  },
  true,
);

// --- row selection and the bulk bar ------------------------------------------------------------
function rowBoxes() {
  return [...document.querySelectorAll('input[name="ids"][form="bulk-form"]')];
}

function refreshSelection() {
  const bar = document.querySelector("[data-bulkbar]");
  if (!bar) return;
  const boxes = rowBoxes();
  const chosen = boxes.filter((box) => box.checked);
  bar.hidden = chosen.length === 0;
  const count = bar.querySelector("[data-bulk-count]");
  if (count) {
    count.textContent =
      chosen.length === 1
        ? count.dataset.one
        : count.dataset.many.replace("{count}", String(chosen.length));
  }
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.checked = boxes.length > 0 && chosen.length === boxes.length;
    all.indeterminate = chosen.length > 0 && chosen.length < boxes.length;
  }
}

function selectAll(checked) {
  rowBoxes().forEach((box) => {
    box.checked = checked;
  });
  refreshSelection();
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches?.("[data-select-all]")) {
    selectAll(target.checked);
  } else if (target.matches?.('input[name="ids"][form="bulk-form"]')) {
    refreshSelection();
  }
});

document.addEventListener("click", (event) => {
  const target = event.target.closest?.("[data-select-page], [data-clear-selection], [data-export-selected], [data-list-add]");
  if (!target) return;
  if (target.matches("[data-select-page]")) {
    selectAll(true);
  } else if (target.matches("[data-clear-selection]")) {
    selectAll(false);
  } else if (target.matches("[data-export-selected]")) {
    // The export of the selection: its ids, and the view whose columns are shown.
    const bar = target.closest("[data-bulkbar]");
    const params = new URLSearchParams();
    const view = new URLSearchParams(window.location.search).get("view");
    if (view) params.append("view", view);
    rowBoxes()
      .filter((box) => box.checked)
      .forEach((box) => params.append("ids", box.value));
    target.href = `${bar.dataset.exportUrl}?${params}`;
  } else if (target.matches("[data-list-add]")) {
    addListRow(target.closest("[data-list-input]"));
  }
});

// --- several emails or phones ------------------------------------------------------------------
function addListRow(fieldset) {
  const rows = fieldset.querySelectorAll(".list-input-row");
  const last = rows[rows.length - 1];
  const input = last.querySelector("input");
  if (input && !input.value.trim()) {
    input.focus();
    return;
  }
  const row = last.cloneNode(true);
  row.classList.remove("has-error");
  row.querySelector(".error")?.remove();
  const copy = row.querySelector("input");
  const label = row.querySelector("label");
  const id = `${input.id.replace(/_\d+$/, "")}_${rows.length}`;
  copy.id = id;
  copy.value = "";
  copy.removeAttribute("aria-invalid");
  copy.removeAttribute("aria-describedby");
  copy.removeAttribute("autofocus");
  if (label) {
    label.htmlFor = id;
    label.textContent = label.textContent.replace(/\d+\s*$/, String(rows.length + 1));
  }
  last.after(row);
  copy.focus();
}

function showListButtons(root) {
  root.querySelectorAll("[data-list-add]").forEach((button) => {
    button.hidden = false;
  });
}

// --- facts edited in place ---------------------------------------------------------------------
let returnFocusTo = null;

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest?.("[data-inline-edit]");
  if (!form) return;
  // A picker's open list closes first; the next Escape cancels the edit.
  if (event.target.matches("[data-picker-input]") && event.target.getAttribute("aria-expanded") === "true") return;
  event.preventDefault();
  form.querySelector("[data-cancel]")?.click();
});

document.body.addEventListener("htmx:beforeRequest", (event) => {
  // Only a fact's own form sets this: the header and timeline refresh at the same time.
  const form = event.detail.elt.closest?.("[data-inline-edit]");
  if (form) returnFocusTo = form.id;
});

document.body.addEventListener("htmx:afterSettle", (event) => {
  refreshSelection();
  showListButtons(document);
  const root = event.detail.elt;
  if (root?.querySelectorAll) root.querySelectorAll("[data-picker]").forEach(setUpPicker);
  if (returnFocusTo) {
    // Back from the small form: the focus returns to the value it edited.
    const fact = document.getElementById(returnFocusTo);
    if (fact && !fact.matches("form")) {
      fact.querySelector(".inline-edit")?.focus();
      returnFocusTo = null;
    } else if (!fact) {
      returnFocusTo = null;
    }
  }
});

// --- the company picker ------------------------------------------------------------------------
function setUpPicker(picker) {
  if (picker.dataset.ready) return;
  picker.dataset.ready = "1";
  const input = picker.querySelector("[data-picker-input]");
  const hidden = picker.querySelector("[data-picker-value]");
  const list = picker.querySelector("[data-picker-list]");
  const url = picker.dataset.suggestUrl;
  let timer = null;
  let active = -1;
  let chosenLabel = input.value;

  const options = () => [...list.querySelectorAll('[role="option"]')];

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function mark(index) {
    const items = options();
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (items[index]) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }
  }

  function choose(item) {
    const changed = hidden.value !== item.dataset.id;
    hidden.value = item.dataset.id;
    input.value = item.dataset.name;
    chosenLabel = item.dataset.name;
    close();
    if (changed) hidden.dispatchEvent(new Event("change", { bubbles: true }));
  }

  async function search() {
    const q = input.value.trim();
    if (!q) {
      close();
      return;
    }
    const response = await fetch(`${url}?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    list.replaceChildren();
    data.items.forEach((account, i) => {
      const item = document.createElement("li");
      item.id = `${list.id}-${i}`;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.dataset.id = String(account.id);
      item.dataset.name = account.name;
      item.textContent = account.name;
      if (account.detail) {
        const detail = document.createElement("span");
        detail.className = "detail";
        detail.textContent = account.detail;
        item.append(detail);
      }
      list.append(item);
    });
    if (!data.items.length) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = list.dataset.empty || "—";
      list.append(none);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (!input.value.trim() && hidden.value) {
      hidden.value = "";
      chosenLabel = "";
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }
    timer = setTimeout(search, 200);
  });
  input.addEventListener("keydown", (event) => {
    const items = options();
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      if (list.hidden) list.hidden = false;
      mark(Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      mark(Math.max(active - 1, 0));
    } else if (event.key === "Enter" && !list.hidden && items[active]) {
      event.preventDefault();
      choose(items[active]);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  // The text field alone is not a value: leaving it restores the chosen company's name.
  input.addEventListener("blur", () => {
    setTimeout(() => {
      close();
      if (input.value.trim() && input.value !== chosenLabel) input.value = chosenLabel;
    }, 150);
  });
  input.addEventListener("change", (event) => event.stopPropagation());
  list.addEventListener("mousedown", (event) => {
    const item = event.target.closest('[role="option"]');
    if (item) {
      event.preventDefault();
      choose(item);
    }
  });
}

document.querySelectorAll("[data-picker]").forEach(setUpPicker);
showListButtons(document);
refreshSelection();
