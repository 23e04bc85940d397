// The scoring rule form: add and remove condition rows, offer only the comparisons a field
// takes, and suggest the values of choice fields. Without this module the form still works:
// "Add a condition" submits and comes back with an empty row, and a row without a field is
// dropped when saving.
const form = document.querySelector("[data-rule-form]");

function refreshRow(row) {
  const field = row.querySelector("[data-condition-field]");
  const op = row.querySelector("[data-condition-op]");
  const value = row.querySelector("[data-condition-value]");
  const option = field.selectedOptions[0];
  const allowed = (option?.dataset.ops || "").split(" ").filter(Boolean);
  for (const choice of op.options) {
    choice.hidden = allowed.length > 0 && !allowed.includes(choice.value);
  }
  if (op.selectedOptions[0]?.hidden) {
    op.value = allowed[0] || "eq";
  }
  if (option?.dataset.list) value.setAttribute("list", option.dataset.list);
  else value.removeAttribute("list");
  value.disabled = op.value === "is_empty" || op.value === "is_not_empty";
}

function nextIndex(rows) {
  let max = 0;
  rows.querySelectorAll("[data-condition-field]").forEach((select) => {
    const n = Number(select.id.split("-").pop());
    if (n > max) max = n;
  });
  return max + 1;
}

function wire(row) {
  row.querySelector("[data-remove-condition]")?.removeAttribute("hidden");
  refreshRow(row);
}

if (form) {
  const rows = form.querySelector("[data-condition-rows]");
  const template = form.querySelector("[data-condition-template]");
  rows?.querySelectorAll("[data-condition-row]").forEach(wire);

  form.addEventListener("change", (event) => {
    const row = event.target.closest("[data-condition-row]");
    if (row) refreshRow(row);
  });

  form.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-condition]");
    if (add && rows && template) {
      event.preventDefault();
      const index = nextIndex(rows);
      const row = template.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("[id]").forEach((el) => {
        el.id = el.id.replace(/-0$/, `-${index}`);
      });
      row.querySelectorAll("label[for]").forEach((label) => {
        label.htmlFor = label.htmlFor.replace(/-0$/, `-${index}`);
      });
      row.querySelectorAll("[aria-describedby]").forEach((el) => {
        el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").replace(/-0\b/g, `-${index}`));
      });
      rows.append(row);
      wire(row);
      row.querySelector("[data-condition-field]").focus();
      return;
    }
    const remove = event.target.closest("[data-remove-condition]");
    if (remove) {
      const row = remove.closest("[data-condition-row]");
      const previous = row.previousElementSibling || row.nextElementSibling;
      row.remove();
      (previous?.querySelector("[data-condition-field]") || form.querySelector("[data-add-condition]"))?.focus();
    }
  });

  // Disabled inputs are not submitted; keep the rows' lists aligned.
  form.addEventListener("submit", () => {
    form.querySelectorAll("[data-condition-value]:disabled").forEach((input) => {
      input.disabled = false;
      input.value = "";
    });
  });
}
