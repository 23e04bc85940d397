// Behaviour of the settings pages. A module loaded with the CSP nonce: no inline handlers.
import "./copy.js";

// htmx copies "style" attributes while settling a swap; the CSP forbids style attributes, and
// a browser may leave an empty one on a field it autofilled, so settle only the others.
if (window.htmx) window.htmx.config.attributesToSettle = ["class", "width", "height"];

// A form with errors comes back with status 422: swap it in so each error shows next to its
// field (htmx leaves 4xx answers unswapped by default).
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// After a section is swapped in, put the keyboard where the person needs to be next: the
// first field with an error, the form being edited, or the outcome message.
document.body.addEventListener("htmx:afterSettle", () => {
  const section = document.getElementById("settings-section");
  if (!section) return;
  const target =
    section.querySelector("[aria-invalid='true']") ||
    section.querySelector("form[data-editing] input:not([type=hidden]), form[data-editing] select") ||
    section.querySelector("#new-api-key") ||
    section.querySelector(".alert-error") ||
    section.querySelector(".messages[role=status]");
  if (!target) return;
  if (!target.matches("input, select, textarea, button, a")) target.setAttribute("tabindex", "-1");
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: "nearest" });
});

// Selects that save on change (a member's role). Delegated, so rows swapped in by htmx work.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit-on-change]");
  if (select) select.form.requestSubmit();
});

// New custom field: the key follows the label until typed by hand, and the choices box shows
// only for choice types.
function slug(text) {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^[^a-z]+|_+$/g, "")
    .slice(0, 60);
}

function wireCustomFieldForm(form) {
  if (!form || form.dataset.wired) return;
  form.dataset.wired = "1";
  const label = form.querySelector("[name=label]");
  const key = form.querySelector("[name=key]");
  const type = form.querySelector("[name=field_type]");
  const choices = form.querySelector("[data-choices-field]");
  if (label && key) {
    let typed = key.value !== "" && key.value !== slug(label.value);
    key.addEventListener("input", () => { typed = key.value !== ""; });
    label.addEventListener("input", () => { if (!typed) key.value = slug(label.value); });
  }
  if (type && choices) {
    const sync = () => {
      const wanted = type.value === "choice" || type.value === "multi_choice";
      const hasError = choices.querySelector(".has-error");
      choices.hidden = !wanted && !hasError;
    };
    type.addEventListener("change", sync);
    sync();
  }
}

wireCustomFieldForm(document.querySelector("form[data-custom-field-form]"));
document.body.addEventListener("htmx:afterSettle", () => {
  wireCustomFieldForm(document.querySelector("form[data-custom-field-form]"));
});

// On phones the sub-navigation is a row of tabs that scrolls sideways: show the current one.
const settingsNav = document.querySelector(".settings-nav");
const currentTab = settingsNav?.querySelector("[aria-current='page']");
if (settingsNav && currentTab && settingsNav.scrollWidth > settingsNav.clientWidth) {
  settingsNav.scrollLeft = currentTab.offsetLeft - (settingsNav.clientWidth - currentTab.offsetWidth) / 2;
}
