// Products and price lists: forms answered with 422 show their field errors in place (htmx
// leaves 4xx responses alone otherwise). Loaded as a module with the CSP nonce.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422 && event.detail.elt?.closest?.("[data-products]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
