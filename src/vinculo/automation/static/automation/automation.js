// Behaviour of the automation pages. Loaded as a module with the CSP nonce; no inline handlers.

// Forms answer 422 with their field errors: swap those in (htmx leaves 4xx alone).
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422 && event.detail.elt?.closest?.("[data-automation]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
  // A drag leaves style attributes on the rows; htmx would copy them onto the new rows while
  // settling, which the CSP refuses (no inline styles).
  const target = event.detail.target;
  if (target?.id === "rules") {
    target.querySelectorAll("[style]").forEach((el) => el.removeAttribute("style"));
  }
});

// After the editor is re-drawn (a row added or removed), the focus goes to the new row's first
// input, or stays where it was when htmx can find that element again.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const editor = event.detail.target;
  if (editor?.id !== "rule-editor") return;
  const submitter = event.detail.requestConfig?.triggeringEvent?.submitter;
  const command = submitter?.value || "";
  if (command.startsWith("add:") || command.startsWith("group:")) {
    const groupKey = command.split(":")[1];
    const group = document.getElementById(`cond-${groupKey}`);
    const leaves = group?.querySelectorAll(":scope > .cond-children > li");
    leaves?.[leaves.length - 1]?.querySelector("select")?.focus();
  } else if (command === "action-add") {
    const items = editor.querySelectorAll(".action-item");
    items[items.length - 1]?.querySelector("input:not([type=hidden]), select, textarea")?.focus();
  } else if (editor.querySelector(".alert-error")) {
    editor.querySelector("[aria-invalid=true]")?.focus();
  }
});

// Rules reorder by drag and drop (the ↑ ↓ buttons do the same without a mouse).
async function enableSorting(root) {
  const lists = root.querySelectorAll("[data-sortable]");
  const page = document.querySelector("[data-sortable-src]");
  if (!lists.length || !page) return;
  const { default: Sortable } = await import(page.dataset.sortableSrc);
  lists.forEach((list) => {
    if (list.dataset.sortableReady) return;
    list.dataset.sortableReady = "1";
    Sortable.create(list, {
      handle: ".drag-handle",
      animation: 150,
      onEnd: () => {
        const ids = [...list.querySelectorAll(":scope > [data-id]")].map((li) => li.dataset.id);
        window.htmx.ajax("POST", list.dataset.reorderUrl, {
          target: "#rules",
          swap: "outerHTML",
          values: { rule_ids: ids.join(",") },
        });
      },
    });
  });
}

enableSorting(document);
// An outerHTML swap replaces the lists: look for new ones in the whole page.
document.body.addEventListener("htmx:afterSettle", () => enableSorting(document));
