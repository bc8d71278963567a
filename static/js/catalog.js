// Catalog steppers: + and − change the number at once and send it after a short pause, so
// several quick taps make one request. Without this file the buttons submit the form with
// step=up/down and the server steps the quantity itself.
(function () {
  "use strict";
  function stepped(qty, dir, first, step) {
    if (dir === "up") { return qty < first ? first : qty + step; }
    var lower = qty - step;
    return lower >= first ? lower : 0;
  }
  function enhance(root) {
    // The number in the box is already stepped here: the buttons must not send step=up/down
    // too (htmx includes the last button clicked in the form's values).
    var buttons = root.querySelectorAll ? root.querySelectorAll(".stepper .step[name]") : [];
    for (var i = 0; i < buttons.length; i++) { buttons[i].removeAttribute("name"); }
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest(".stepper .step") : null;
    if (!btn || !window.htmx || !btn.form) { return; }
    var form = btn.form;
    var input = form.querySelector("input[name=qty]");
    if (!input) { return; }
    e.preventDefault();
    enhance(form);
    var qty = parseInt(input.value, 10);
    if (isNaN(qty) || qty < 0) { qty = 0; }
    var first = parseInt(form.dataset.first, 10) || 1;
    var step = parseInt(form.dataset.step, 10) || 1;
    input.value = String(stepped(qty, btn.dataset.dir, first, step));
    pending.add(form);
    window.htmx.trigger(form, "qtychange");
  });
  document.addEventListener("htmx:load", function (e) { enhance(e.target); });

  // A tap on + and then straight on a link (the cart tab, say) must not lose the tap: the
  // quantities still waiting for their pause are sent, and those on their way are awaited,
  // before the link is followed.
  var pending = new Set();
  var inflight = new Map();
  document.addEventListener("htmx:beforeRequest", function (e) {
    var form = e.detail.elt;
    if (!pending.has(form) && !(form.classList && form.classList.contains("stepper"))) { return; }
    pending.delete(form);
    inflight.set(form, new Promise(function (resolve) {
      form.addEventListener("htmx:afterRequest", resolve, { once: true });
    }));
  });
  document.addEventListener("htmx:afterRequest", function (e) { inflight.delete(e.detail.elt); });
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"]; }
    catch (err) { return ""; }
  }
  function send(form) {
    var data = new FormData(form);
    data.delete("step");
    return fetch(form.getAttribute("action"), {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin", keepalive: true,
      headers: { "HX-Request": "true", "x-csrftoken": csrf() }
    });
  }
  function flush() {
    var forms = Array.from(pending);
    pending.clear();
    return Promise.all(forms.map(send).concat(Array.from(inflight.values())));
  }
  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a[href]") : null;
    if (!link || (!pending.size && !inflight.size) || e.defaultPrevented || link.target) { return; }
    e.preventDefault();
    flush().finally(function () { window.location.href = link.href; });
  }, true);
  window.addEventListener("pagehide", function () { if (pending.size) { flush(); } });
})();
