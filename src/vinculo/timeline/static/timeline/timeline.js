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

  // "Cancel" in a form opened in place closes it and gives focus back to the page.
  document.addEventListener("click", (event) => {
    const cancel = event.target.closest?.("[data-form-cancel]");
    const slot = cancel?.closest("[data-form-slot]");
    if (!slot) return;
    event.preventDefault();
    slot.replaceChildren();
    slot.closest("[data-timeline], [data-tasks]")?.querySelector("a, button")?.focus();
  });

  // A form opened in place takes the focus, so keyboard users land in it.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const slot = event.detail.target;
    if (!slot?.matches?.("[data-form-slot]")) return;
    slot.querySelector("input:not([type=hidden]), select, textarea")?.focus();
  });

  // Escape closes the open form.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const slot = event.target.closest?.("[data-form-slot]");
    if (slot) slot.replaceChildren();
  });

  // Confirmations fade after a few seconds (they are also announced: role=status).
  document.body.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll("[data-autohide]:not([data-autohide-armed])").forEach((note) => {
      note.dataset.autohideArmed = "1";
      window.setTimeout(() => note.remove(), 6000);
    });
  });
}
