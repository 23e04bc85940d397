// Behaviour of the app shell. Loaded as a module with the CSP nonce; no inline handlers.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content;

document.body.addEventListener("htmx:configRequest", (event) => {
  if (csrf) event.detail.headers["X-CSRFToken"] = csrf;
});

// Ctrl/⌘-K focuses the global search from anywhere.
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
    const search = document.getElementById("global-search");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  }
  if (event.key === "Escape") {
    document.querySelectorAll("details.menu[open]").forEach((menu) => menu.removeAttribute("open"));
    document.querySelector(".app.nav-open")?.classList.remove("nav-open");
  }
});

// Phones: the sidebar opens as a drawer.
document.querySelectorAll("[data-toggle-nav]").forEach((button) => {
  button.addEventListener("click", () => {
    const app = document.querySelector(".app");
    const open = app.classList.toggle("nav-open");
    button.setAttribute("aria-expanded", String(open));
  });
});

// Menus close when clicking elsewhere.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// Selects that submit their form on change (language, workspace switcher).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.requestSubmit());
});

// Destructive actions ask first: <button data-confirm="…">.
document.addEventListener("click", (event) => {
  const trigger = event.target.closest("[data-confirm]");
  if (trigger && !window.confirm(trigger.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
