// Leads pages: what they add to the contacts' behaviour (loaded beside contacts.js). Loaded as
// a module with the CSP nonce; delegated from the document so htmx swaps keep working.

// A checkbox with data-toggles="#id" shows the element it names only while it is checked
// (the deal fields of the conversion page).
function applyToggle(box) {
  const target = document.querySelector(box.dataset.toggles);
  if (target) target.hidden = !box.checked;
}

document.addEventListener("change", (event) => {
  if (event.target.matches?.("[data-toggles]")) applyToggle(event.target);
});

document.querySelectorAll("[data-toggles]").forEach(applyToggle);
