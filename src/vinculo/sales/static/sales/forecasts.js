// Behaviour of the forecast pages (forecast, quotas, pipeline analytics, stalled deals). Loaded
// as a module with the CSP nonce; delegated from the document so it keeps working on what htmx
// swaps in, and safe to load twice.
if (!window.vinculoForecastsReady) {
  window.vinculoForecastsReady = true;

  // Forms here answer 422 with their field errors: swap those in (htmx leaves 4xx alone).
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 422 && event.detail.elt?.closest?.("[data-forecasts]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Quota form: the period shortcuts (this month, next quarter…) fill in both dates at once.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-fill-period]");
    if (!button) return;
    const form = button.closest("form");
    const start = form?.querySelector('input[name="period_start"]');
    const end = form?.querySelector('input[name="period_end"]');
    if (!start || !end) return;
    start.value = button.dataset.from;
    end.value = button.dataset.to;
    form.querySelectorAll("[data-fill-period]").forEach((other) => {
      other.setAttribute("aria-pressed", String(other === button));
    });
    form.querySelector('input[name="amount"]')?.focus();
  });
}
