// The lists' bulk bar: "Export XLSX" downloads the selected rows, like "Export CSV" does
// (contacts.js), with the same ids and the view whose columns are shown.
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("[data-export-selection]");
  if (!link) return;
  const bar = link.closest("[data-bulkbar]");
  const params = new URLSearchParams({ format: link.dataset.exportSelection });
  const view = new URLSearchParams(window.location.search).get("view");
  if (view) params.append("view", view);
  document
    .querySelectorAll('input[name="ids"][form="bulk-form"]:checked')
    .forEach((box) => params.append("ids", box.value));
  link.href = `${bar.dataset.exportUrl}?${params}`;
});
