// Starts Swagger UI on /api/v1/docs. Kept out of the page so the CSP needs no inline script.
const settings = JSON.parse(document.getElementById("swagger-settings").textContent);
const csrfToken = document.body.dataset.csrfToken;

settings.dom_id = "#swagger-ui";
settings.presets = [SwaggerUIBundle.presets.apis];
if (csrfToken) {
  // "Try it out" with the browser's session: the session auth checks CSRF like a form post.
  settings.requestInterceptor = (request) => {
    request.headers["X-CSRFToken"] = csrfToken;
    return request;
  };
}
window.swaggerUi = SwaggerUIBundle(settings);
