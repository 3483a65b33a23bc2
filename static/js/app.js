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

// Loading states and focus around requests. htmx marks the form that asked with `htmx-request` (styled in
// app.css); a plain form post (the landing's buttons, or any form while htmx is not there) gets `is-busy`
// until the next page arrives, so a second press does not start a second journey.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    form.classList.add("is-busy");
    form.setAttribute("aria-busy", "true");
  });
  // A page brought back by the Back button (back/forward cache) is not busy any more.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.is-busy").forEach(function (form) {
      form.classList.remove("is-busy");
      form.removeAttribute("aria-busy");
    });
  });

  // The builder's edits replace the whole episode: say what changed, and keep the keyboard where it was.
  // htmx itself refocuses a control that has the same id after the swap; when the control is gone (a
  // removed song), focus goes to that character's name instead of falling back to the top of the page.
  var side = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var article = event.target.closest && event.target.closest("[data-testid^='character-']");
    side = article ? article.getAttribute("data-testid") : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var episode = event.target;
    if (!episode || episode.id !== "episode") return;
    var focused = document.activeElement;
    if (side && (!focused || focused === document.body)) {
      var name = document.querySelector("[data-testid='" + side + "'] [data-testid='character-name']");
      if (name) name.focus();
    }
    var status = document.getElementById("announce");
    if (!status) return;
    var error = episode.querySelector(".notice-error");
    var score = episode.querySelector("[data-testid='mashup-score']");
    status.textContent = error ? error.textContent
      : "Episode updated." + (score ? " Mash-up score " + score.textContent + " out of 100." : "");
  });
})();
