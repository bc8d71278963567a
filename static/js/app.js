// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("htmx:responseError", function (event) {
    var toast = document.getElementById("toast");
    if (!toast) { return; }
    // 403: the form's token has expired (a page left open across a sign-in), or the step
    // is not allowed: say what to do, rather than "try again", which fails the same way.
    var refused = event.detail && event.detail.xhr && event.detail.xhr.status === 403;
    toast.textContent = (refused && toast.dataset.refused) || toast.dataset.error || "Request failed";
    setTimeout(function () { toast.textContent = ""; }, 4000);
  });

  // A thin busy bar while any htmx request is on its way (CSS: html.htmx-busy).
  var busy = 0;
  function setBusy(delta) {
    busy = Math.max(0, busy + delta);
    document.documentElement.classList.toggle("htmx-busy", busy > 0);
  }
  document.addEventListener("htmx:beforeRequest", function () { setBusy(1); });
  document.addEventListener("htmx:afterRequest", function () { setBusy(-1); });

  // A link that acts as a button (reject, send back: they open a form) also answers Space.
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === " " && el && el.tagName === "A" && el.getAttribute("role") === "button") {
      event.preventDefault();
      el.click();
    }
  });

  // A form that undoes something for good asks first (data-confirm: the question).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // A quantity box grows with its number (1,000,000 must not read as 10000): the boxes are
  // sized for five digits, enough for nearly every line.
  function fitQty(input) {
    var digits = (input.value || "").length;
    input.style.width = digits > 5 ? "calc(" + (digits + 1) + "ch + 8px)" : "";
  }
  function fitAll(root) {
    var boxes = root.querySelectorAll ? root.querySelectorAll(".stepper .qty") : [];
    for (var i = 0; i < boxes.length; i++) { fitQty(boxes[i]); }
  }
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el && el.classList && el.classList.contains("qty")) { fitQty(el); }
  });
  document.addEventListener("htmx:load", function (event) { fitAll(event.target); });
  document.addEventListener("DOMContentLoaded", function () { fitAll(document); });

  // The installable app: a service worker for static assets and an offline notice.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
      // The worker keeps the offline page of the language it was installed in (the sign-in
      // page's): tell it this page's, so it fetches the page again once the user picks another.
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active) {
          registration.active.postMessage({ offlineLang: document.documentElement.lang });
        }
      }).catch(function () {});
    });
  }
})();
