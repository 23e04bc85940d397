// Behaviour of the app shell. Loaded as a module with the CSP nonce; no inline handlers.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content;

document.body.addEventListener("htmx:configRequest", (event) => {
  if (csrf) event.detail.headers["X-CSRFToken"] = csrf;
});

// --- phones: the sidebar opens as a drawer ---------------------------------------------------
const app = document.querySelector(".app");
const sidebar = document.getElementById("sidebar");
const toggles = [...document.querySelectorAll("[data-toggle-nav]")];
const phoneLayout = window.matchMedia("(max-width: 820px)");

function navOpen() {
  return app?.classList.contains("nav-open") ?? false;
}

function setNav(open, { restoreFocus = true } = {}) {
  if (!app || !sidebar) return;
  app.classList.toggle("nav-open", open);
  toggles.forEach((button) => button.setAttribute("aria-expanded", String(open)));
  if (open) {
    // The drawer takes the focus; the page behind it is inert until it closes.
    document.getElementById("content")?.setAttribute("inert", "");
    document.querySelector(".topbar")?.setAttribute("inert", "");
    (sidebar.querySelector('[aria-current="page"]') || sidebar.querySelector("a, button"))?.focus();
  } else {
    document.getElementById("content")?.removeAttribute("inert");
    document.querySelector(".topbar")?.removeAttribute("inert");
    if (restoreFocus) toggles[0]?.focus();
  }
}

toggles.forEach((button) => button.addEventListener("click", () => setNav(!navOpen())));
document.querySelectorAll("[data-close-nav]").forEach((button) => {
  button.addEventListener("click", () => setNav(false));
});
// A tap on the dimmed page beside the drawer closes it.
app?.addEventListener("click", (event) => {
  if (navOpen() && !sidebar.contains(event.target) && !event.target.closest("[data-toggle-nav]")) {
    setNav(false);
  }
});
// Keep Tab inside the open drawer.
sidebar?.addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || !navOpen()) return;
  const focusable = [...sidebar.querySelectorAll("a[href], button:not([disabled])")].filter(
    (el) => el.offsetParent !== null,
  );
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
});
// Turning a tablet to landscape leaves the phone layout: no drawer there.
phoneLayout.addEventListener("change", () => {
  if (!phoneLayout.matches && navOpen()) setNav(false, { restoreFocus: false });
});

// --- keyboard ---------------------------------------------------------------------------------
document.addEventListener("keydown", (event) => {
  // Ctrl/⌘-K focuses the global search from anywhere.
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
    const search = document.getElementById("global-search");
    if (search) {
      event.preventDefault();
      if (navOpen()) setNav(false, { restoreFocus: false });
      search.focus();
      search.select();
    }
  }
  if (event.key === "Escape") {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      menu.removeAttribute("open");
      menu.querySelector("summary")?.focus();
    });
    if (navOpen()) setNav(false);
  }
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
document.addEventListener(
  "click",
  (event) => {
    const trigger = event.target.closest("[data-confirm]");
    if (trigger && !window.confirm(trigger.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
