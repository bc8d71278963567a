// Small progressive enhancements; every page works without this file.
document.addEventListener("htmx:responseError", function (e) {
  var toast = document.getElementById("toast");
  if (toast) { toast.textContent = toast.dataset.error || "请求失败，请重试 / Request failed"; setTimeout(function () { toast.textContent = ""; }, 4000); }
});
