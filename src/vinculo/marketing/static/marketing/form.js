// The public web form. Framed by the embed snippet, it tells the site's page its height (so the
// frame grows with it, errors included) and, after sending, where the form's redirect leads:
// the snippet navigates the site's own window there. Loaded as a module with the CSP nonce.
const embedded = document.body.dataset.embed === "1";

function tell(message) {
  if (embedded && window.parent !== window) window.parent.postMessage(message, "*");
}

if (embedded) {
  let last = 0;
  const report = () => {
    // The body's own height: the document's scroll height never drops below the frame's, so
    // a form that got shorter (errors fixed) would keep its old height.
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      tell({ type: "vinculo-form:height", height });
    }
  };
  new ResizeObserver(report).observe(document.body);
  window.addEventListener("load", report);
  report();
  const redirect = document.querySelector("[data-redirect]")?.dataset.redirect;
  if (redirect && /^https?:\/\//i.test(redirect)) tell({ type: "vinculo-form:redirect", url: redirect });
  // After a post the site's page may show the top of the frame far above: bring it into view.
  if (document.querySelector("#wf-errors, .wf-done, .wf-notice")) tell({ type: "vinculo-form:scroll" });
}

// A form sent back with errors: the summary takes the focus, each entry links to its field.
const summary = document.getElementById("wf-errors");
if (summary) summary.focus();
document.addEventListener("click", (event) => {
  const link = event.target.closest("#wf-errors a[href^='#']");
  if (!link) return;
  const field = document.getElementById(link.getAttribute("href").slice(1));
  if (field) {
    event.preventDefault();
    field.focus();
  }
});

// One click sends once: a second press while the first post travels would be counted too.
document.querySelector("form.wf-form")?.addEventListener("submit", (event) => {
  const button = event.target.querySelector(".wf-submit");
  if (button?.dataset.sent) {
    event.preventDefault();
    return;
  }
  if (button) button.dataset.sent = "1";
});
