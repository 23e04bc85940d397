// Behaviour of the timeline panel and "My tasks". Loaded as a module with the CSP nonce by
// every page that shows them (timeline/assets.html); safe to load twice.
if (!window.vinculoTimelineReady) {
  window.vinculoTimelineReady = true;

  // Forms answer 422 with their field errors: swap those in (htmx leaves 4xx alone).
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const origin = event.detail.elt;
    if (event.detail.xhr.status === 422 && origin?.closest?.("[data-timeline], [data-tasks]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Which button opened the form in each slot, to give the focus back when it closes.
  const openers = new WeakMap();
  const closeForm = (slot) => {
    slot.replaceChildren();
    const opener = openers.get(slot);
    if (opener?.isConnected) opener.focus();
  };

  // "Cancel" in a form opened in place closes it.
  document.addEventListener("click", (event) => {
    const cancel = event.target.closest?.("[data-form-cancel]");
    const slot = cancel?.closest("[data-form-slot]");
    if (!slot) return;
    event.preventDefault();
    closeForm(slot);
  });

  // A form opened in place takes the focus, so keyboard users land in it.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const slot = event.detail.target;
    if (!slot?.matches?.("[data-form-slot]")) return;
    const opener = event.detail.requestConfig?.elt;
    if (opener && !slot.contains(opener)) openers.set(slot, opener);
    slot.querySelector("input:not([type=hidden]), select, textarea")?.focus();
  });

  // A form back with errors puts the focus on the first field to fix; once saved, the focus
  // returns to the button that opened it (the confirmation is announced as a status).
  document.body.addEventListener("htmx:load", (event) => {
    const element = event.detail.elt;
    const slot = element?.closest?.("[data-form-slot]");
    if (!slot) return;
    const invalid = element.querySelector?.(".has-error input, .has-error select, .has-error textarea");
    if (invalid) invalid.focus();
    else if (element.matches(".tl-done")) openers.get(slot)?.focus();
  });

  // Escape closes the open form.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const slot = event.target.closest?.("[data-form-slot]");
    if (slot) closeForm(slot);
  });

  // Confirmations fade after a few seconds (they are also announced: role=status).
  document.body.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll("[data-autohide]:not([data-autohide-armed])").forEach((note) => {
      note.dataset.autohideArmed = "1";
      window.setTimeout(() => note.remove(), 6000);
    });
  });
}
