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

  // Catalog rows, "+1 箱": the box shows the new number at once and it is sent straight away,
  // so a second tap before the answer adds a second pack (the server's rule, mirrored:
  // quantities.pack_step). A box holding a typed unit ("5箱") is the server's to read: the
  // tapped step (−, + or the pack) goes with it, as without JavaScript (catalog.js, which
  // steps − and + here, would read "5箱" as 5).
  function packStep(qty, pack, first, multiple) {
    var target = qty + Math.max(pack, 1);
    target = Math.ceil(target / multiple) * multiple;
    return Math.max(target, first);
  }
  document.addEventListener("click", function (event) {
    var btn = event.target.closest ? event.target.closest("form.stepper .step, form.stepper .pack-step") : null;
    if (!btn || !window.htmx || !btn.form) { return; }
    var form = btn.form;
    var input = form.querySelector("input[name=qty]");
    if (!input) { return; }
    var text = (input.value || "").trim();
    var plain = /^[0-9]*$/.test(text);
    var isPack = btn.classList.contains("pack-step");
    if (plain && !isPack) { return; }
    event.preventDefault();
    event.stopPropagation();
    // The number (or the step) is sent below: the button's own step=pack must not go too
    // (htmx adds the last button clicked to the form's values).
    var dir = isPack ? "pack" : btn.getAttribute("data-dir");
    btn.removeAttribute("name");
    if (plain) {
      var first = parseInt(form.dataset.first, 10) || 1;
      var multiple = parseInt(form.dataset.step, 10) || 1;
      var pack = parseInt(btn.dataset.pack, 10) || 1;
      input.value = String(packStep(parseInt(text || "0", 10), pack, first, multiple));
      fitQty(input);
    } else {
      var step = form.querySelector("input[name=step]") || document.createElement("input");
      step.type = "hidden";
      step.name = "step";
      step.value = dir;
      form.appendChild(step);
      // Once in this request's values it goes: a later − or + (catalog.js) sends a number.
      form.addEventListener("htmx:configRequest", function () { step.remove(); }, { once: true });
    }
    window.htmx.trigger(form, "submit");
  }, true);

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
