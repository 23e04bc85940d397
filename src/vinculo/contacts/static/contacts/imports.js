// Import pages: the header toggle's button, hints on the mapping,
// the undo confirmation dialog, and buttons that say they are busy. Loaded as a module with
// the CSP nonce; without it every page still works (plain forms and links).

// --- the header toggle: its button shows once the choice differs from the columns shown --------
// (Re-reading the file reloads the page: that happens on the person's click, not on the toggle.)
document.querySelectorAll("[data-header-refresh]").forEach((button) => {
  const toggle = button.form?.querySelector('input[name="has_header"]');
  if (!toggle) return;
  const shown = toggle.checked;
  button.hidden = true;
  toggle.addEventListener("change", () => {
    button.hidden = toggle.checked === shown;
  });
});

// --- the mapping: skipped columns look skipped, a field chosen twice is pointed out -------------
function refreshMapping(form) {
  const selects = [...form.querySelectorAll("select[data-map-select]")];
  const counts = new Map();
  selects.forEach((select) => {
    if (select.value) counts.set(select.value, (counts.get(select.value) || 0) + 1);
  });
  selects.forEach((select) => {
    const row = select.closest("tr");
    row?.classList.toggle("is-skipped", !select.value);
    const field = select.closest(".field");
    let hint = field?.querySelector(".dup-hint");
    const twice = select.value && counts.get(select.value) > 1;
    if (twice && field && !hint) {
      hint = document.createElement("p");
      hint.className = "dup-hint";
      hint.id = `${select.id}_dup`;
      hint.textContent = form.dataset.duplicateText || "";
      field.append(hint);
    } else if (!twice && hint) {
      hint.remove();
    }
  });
}

document.querySelectorAll("[data-mapping-form]").forEach((form) => {
  form.addEventListener("change", (event) => {
    if (event.target.matches("select[data-map-select]")) refreshMapping(form);
  });
  refreshMapping(form);
});

// --- the undo confirmation ----------------------------------------------------------------------
document.addEventListener("click", (event) => {
  const opener = event.target.closest?.("[data-open-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.openDialog);
    if (dialog?.showModal) {
      event.preventDefault();
      dialog.showModal();
    }
    return;
  }
  const closer = event.target.closest?.("[data-close-dialog]");
  if (closer) {
    const dialog = closer.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
      document.querySelector(`[data-open-dialog="${dialog.id}"]`)?.focus();
    }
  }
});

// A page opened with ?confirm=undo (the link without this script) shows the dialog: as a
// modal here, so the keyboard stays inside it.
document.querySelectorAll("dialog[open]").forEach((dialog) => {
  dialog.close();
  dialog.showModal();
});

// --- busy buttons: an upload or a start takes a moment; say so and refuse a second click -------
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button?.dataset?.busyLabel) return;
  // After the browser has read the form: a disabled button would leave out its own value.
  setTimeout(() => {
    button.disabled = true;
    button.textContent = button.dataset.busyLabel;
  }, 0);
});
