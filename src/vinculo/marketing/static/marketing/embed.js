/* Vínculo web form snippet. Paste where the form should appear:
     <div data-vinculo-form="KEY"></div>
     <script src="https://YOUR-VINCULO/static/marketing/embed.js" async></script>
   It replaces each such element with a frame of the hosted form, passing along the page's
   address (its utm_* parameters become the lead's) and where the visitor came from. The frame
   grows with the form, and a form that redirects after sending takes this page's window there.
   No dependencies, no cookies, no globals. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, window.location.href).origin;
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var frames = [];

  function frameUrl(key) {
    var url = new URL(origin + "/f/" + encodeURIComponent(key));
    var here = new URL(window.location.href);
    url.searchParams.set("embed", "1");
    UTM.forEach(function (name) {
      var value = here.searchParams.get(name);
      if (value) url.searchParams.set(name, value);
    });
    url.searchParams.set("page", window.location.href);
    if (document.referrer) url.searchParams.set("ref", document.referrer);
    return url.toString();
  }

  function mount(holder) {
    var key = holder.getAttribute("data-vinculo-form");
    if (!key || holder.getAttribute("data-vinculo-mounted")) return;
    holder.setAttribute("data-vinculo-mounted", "1");
    var frame = document.createElement("iframe");
    frame.src = frameUrl(key);
    frame.title = holder.getAttribute("data-title") || "Form";
    frame.setAttribute("loading", "eager");
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.display = "block";
    frame.style.height = "520px";
    frame.style.overflow = "hidden";
    holder.appendChild(frame);
    frames.push(frame);
  }

  function mountAll() {
    var holders = document.querySelectorAll("[data-vinculo-form]");
    for (var i = 0; i < holders.length; i++) {
      if (holders[i].tagName !== "SCRIPT") mount(holders[i]);
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || typeof event.data.type !== "string") return;
    var frame = null;
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) frame = frames[i];
    }
    if (!frame) return;
    if (event.data.type === "vinculo-form:height" && typeof event.data.height === "number") {
      frame.style.height = Math.max(120, Math.min(event.data.height, 20000)) + "px";
    } else if (event.data.type === "vinculo-form:redirect" && /^https?:\/\//i.test(event.data.url)) {
      window.location.assign(event.data.url);
    } else if (event.data.type === "vinculo-form:scroll") {
      var top = frame.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight) frame.scrollIntoView({ block: "start" });
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
