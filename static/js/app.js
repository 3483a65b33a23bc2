// fanapp's only script of its own: progressive enhancements; every action also works without it.
(function () {
  "use strict";

  // Copy-link buttons: <button data-copy="#input-id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    var done = function () {
      button.textContent = "Copied!";
      setTimeout(function () { button.textContent = "Copy link"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
    } else {
      input.select();
      document.execCommand && document.execCommand("copy");
      done();
    }
  });
})();
