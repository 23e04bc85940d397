// The web form builder: move fields up and down, show the settings that apply, copy the link
// and snippet. The live preview is htmx on the form (re-rendered on input, change and after a
// move). A module loaded with the CSP nonce: no inline handlers.
import "../core/copy.js";

const builder = document.getElementById("webform-builder");

function rowLabel(row) {
  return row.querySelector(".wf-row-main label")?.textContent.trim() ?? "";
}

function announce(row) {
  const status = builder.querySelector("[data-move-status]");
  if (!status) return;
  const rows = [...builder.querySelectorAll("[data-field-row]")];
  status.textContent = status.dataset.moved
    .replace("{field}", rowLabel(row))
    .replace("{position}", String(rows.indexOf(row) + 1))
    .replace("{total}", String(rows.length));
}

function move(button) {
  const row = button.closest("[data-field-row]");
  if (!row) return;
  const up = button.dataset.move === "up";
  const sibling = up ? row.previousElementSibling : row.nextElementSibling;
  if (!sibling) return;
  if (up) sibling.before(row);
  else sibling.after(row);
  row.classList.remove("moved");
  void row.offsetWidth; // restart the highlight
  row.classList.add("moved");
  button.focus();
  announce(row);
  builder.dispatchEvent(new Event("fields-reordered"));
}

function syncRow(row) {
  const include = row.querySelector("[data-include]");
  row.classList.toggle("is-included", Boolean(include?.checked));
}

function syncSections() {
  const consent = builder.querySelector("[name=consent_enabled]");
  const consentSettings = builder.querySelector("[data-consent-settings]");
  if (consent && consentSettings) {
    consentSettings.hidden = !consent.checked && !consentSettings.querySelector(".has-error");
  }
  const chosen = builder.querySelector("[name=after_submit]:checked")?.value || "message";
  builder.querySelectorAll("[data-after]").forEach((part) => {
    part.hidden = part.dataset.after !== chosen && !part.querySelector(".has-error");
  });
}

if (builder) {
  builder.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-move]");
    if (button) {
      event.preventDefault();
      move(button);
    }
  });
  builder.addEventListener("change", (event) => {
    const row = event.target.closest("[data-field-row]");
    if (row) syncRow(row);
    syncSections();
  });
  syncSections();
  const errors = document.getElementById("builder-errors");
  if (errors) {
    const first = builder.querySelector("[aria-invalid='true'], .has-error input, .has-error textarea");
    (first || errors).focus();
  }
}
