// Copy buttons: <button data-copy="input-id" data-copied="Copied">, announced through a
// [data-copy-status] live region inside the nearest [data-copy-scope].
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // Older browsers and pages served over plain HTTP have no async clipboard.
    document.execCommand("copy");
  }
  const status = button.closest("[data-copy-scope]")?.querySelector("[data-copy-status]");
  if (status) status.textContent = button.dataset.copied;
  const label = button.textContent;
  button.textContent = button.dataset.copied;
  setTimeout(() => { button.textContent = label; }, 2000);
});
