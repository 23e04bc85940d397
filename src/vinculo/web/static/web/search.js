// The top bar's global search: a combobox (WAI-ARIA 1.2 pattern) whose popup htmx fills.
// ↑/↓ move through the options, Enter opens the active one (or the results page when none is
// active), Escape closes the popup, then clears the box.
const form = document.querySelector("[data-global-search]");
const input = form?.querySelector("#global-search");
const popup = form?.querySelector("#global-search-popup");
const status = form?.querySelector("[data-search-status]");

function options() {
  return popup ? [...popup.querySelectorAll('[role="option"]')] : [];
}

function activeOption() {
  const id = input.getAttribute("aria-activedescendant");
  return id ? document.getElementById(id) : null;
}

function setActive(option) {
  options().forEach((o) => o.setAttribute("aria-selected", String(o === option)));
  if (option) {
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  } else {
    input.removeAttribute("aria-activedescendant");
  }
}

function open() {
  const hasContent = popup.innerHTML.trim() !== "";
  popup.hidden = !hasContent;
  input.setAttribute("aria-expanded", String(hasContent && options().length > 0));
}

function close() {
  popup.hidden = true;
  input.setAttribute("aria-expanded", "false");
  setActive(null);
}

function announce() {
  if (!status) return;
  const empty = popup.querySelector("[data-empty]");
  // The last option is "all results", not a hit.
  const hits = Math.max(options().length - 1, 0);
  if (empty) status.textContent = empty.textContent;
  else if (hits) status.textContent = (form.dataset.countTemplate || "%s").replace("%s", hits);
  else status.textContent = "";
}

function move(step) {
  const all = options();
  if (!all.length) return;
  if (popup.hidden) open();
  const index = all.indexOf(activeOption());
  const next = index === -1 ? (step > 0 ? 0 : all.length - 1) : (index + step + all.length) % all.length;
  setActive(all[next]);
}

if (form && input && popup) {
  popup.addEventListener("htmx:afterSwap", () => {
    setActive(null);
    // A reply that arrives after the box lost focus (the user moved on) stays closed.
    if (document.activeElement === input) open();
    else close();
    announce();
  });

  // The box is shorter than a query: drop the popup at once rather than wait for the reply.
  input.addEventListener("input", () => {
    if (input.value.trim().length < 2) {
      popup.innerHTML = "";
      close();
    }
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      move(1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      move(-1);
    } else if (event.key === "Enter") {
      const option = activeOption();
      if (option && !popup.hidden) {
        event.preventDefault();
        window.location.assign(option.href);
      }
      // Otherwise the form submits: the full results page.
    } else if (event.key === "Escape") {
      // A search input clears itself on Escape; the first Escape only closes the popup.
      if (!popup.hidden) {
        event.preventDefault();
        event.stopPropagation();
        close();
      } else if (!input.value) {
        input.blur();
      }
    } else if (event.key === "Home" || event.key === "End") {
      setActive(null);
    }
  });

  input.addEventListener("focus", () => {
    if (input.value.trim().length >= 2 && popup.innerHTML.trim() !== "") open();
  });

  // Clicking an option navigates (it is a link); clicking anywhere else closes the popup.
  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) close();
  });
  form.addEventListener("focusout", (event) => {
    if (!form.contains(event.relatedTarget)) close();
  });

  // Keep the focus in the box while an option is clicked, so the popup is still there when the
  // click lands (some browsers do not focus links on click).
  popup.addEventListener("mousedown", (event) => event.preventDefault());

  popup.addEventListener("mousemove", (event) => {
    const option = event.target.closest('[role="option"]');
    if (option && option !== activeOption()) setActive(option);
  });
}
