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
    window.htmx.trigger(form, "qtychange");
  });
  document.addEventListener("htmx:load", function (e) { enhance(e.target); });
})();
