// Camera barcode scanning for the catalog search, where the browser has BarcodeDetector.
// The scan button stays hidden elsewhere; a found code fills the search box and submits it.
(function () {
  "use strict";
  var FORMATS = ["ean_13", "ean_8", "upc_a", "upc_e", "code_128", "code_39", "itf", "qr_code"];

  function setup() {
    var button = document.getElementById("scan-btn");
    var dialog = document.getElementById("scan-dialog");
    var input = document.getElementById("q");
    if (!button || !dialog || !input || !("BarcodeDetector" in window)) { return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
    var video = dialog.querySelector("video");
    var status = dialog.querySelector(".scan-status");
    var stream = null;
    var timer = null;

    function stop() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.srcObject = null;
      if (dialog.open) { dialog.close(); }
    }

    function found(code) {
      stop();
      input.value = code;
      var form = input.form;
      if (form && form.requestSubmit) { form.requestSubmit(); } else if (form) { form.submit(); }
    }

    button.addEventListener("click", function () {
      window.BarcodeDetector.getSupportedFormats().then(function (supported) {
        var formats = FORMATS.filter(function (f) { return supported.indexOf(f) >= 0; });
        var detector = new window.BarcodeDetector(formats.length ? { formats: formats } : {});
        dialog.showModal();
        return navigator.mediaDevices.getUserMedia({
          video: { facingMode: "environment" }, audio: false
        }).then(function (media) {
          stream = media;
          video.srcObject = media;
          return video.play();
        }).then(function () {
          function tick() {
            if (!stream) { return; }
            detector.detect(video).then(function (codes) {
              if (codes.length && codes[0].rawValue) { found(codes[0].rawValue.trim()); return; }
              timer = setTimeout(tick, 200);
            }).catch(function () { timer = setTimeout(tick, 400); });
          }
          tick();
        });
      }).catch(function () {
        if (status) { status.textContent = status.dataset.error || ""; }
      });
    });
    dialog.addEventListener("close", stop);
    dialog.querySelector(".scan-close").addEventListener("click", stop);
    button.hidden = false;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
