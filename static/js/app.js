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

// The Web Share API where the browser has it (phones): the button stays hidden elsewhere.
(function () {
  "use strict";
  if (!navigator.share) return;
  document.querySelectorAll("[data-share]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({
        title: button.getAttribute("data-share-title"),
        url: button.getAttribute("data-share-url"),
      }).catch(function () { /* the visitor closed the sheet */ });
    });
  });
})();
