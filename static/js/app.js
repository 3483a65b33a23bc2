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
    var refusal = episode.querySelector("[data-focus-on-load]");
    if (refusal) {
      // A refused edit or publish: its message is where the visitor is looking, and has the focus.
      refusal.focus({ preventScroll: true });
      refusal.scrollIntoView({ block: "center" });
    } else if (side && (!focused || focused === document.body)) {
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

// Errors are seen at once. A page that carries a message (an error page, or a form shown again after a
// failed post) moves focus to it and brings it into view. htmx does not swap error responses: their
// fragment (partials/error.html) is put right after the control that asked, focused, and announced.
(function () {
  "use strict";
  function reveal(element) {
    element.focus({ preventScroll: true });
    element.scrollIntoView({ block: "center" });
  }
  function onLoad() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target) reveal(target);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status < 400) return;
    var asker = event.detail.elt;
    if (asker && asker.closest && asker.closest("[data-own-errors]")) return;  // it shows its own (upload.js)
    var holder = document.createElement("div");
    holder.innerHTML = xhr.responseText;  // our own escaped template, never a visitor's markup
    var message = holder.querySelector("[data-testid='error-message']");
    if (!message) return;
    event.detail.shouldSwap = false;
    event.detail.isError = false;  // handled: shown to the visitor
    var control = event.detail.requestConfig && event.detail.requestConfig.elt;
    var anchor = (control && control.closest && control.closest("form")) || control || document.getElementById("main");
    var old = anchor.parentNode && anchor.parentNode.querySelector(":scope > .error-slot");
    if (old) old.remove();
    var slot = document.createElement("div");
    slot.className = "error-slot";
    slot.appendChild(message);
    anchor.insertAdjacentElement("afterend", slot);
    reveal(message);
  });
  // A failed request that never reached us (offline, timed out) also says so, beside its control.
  document.addEventListener("htmx:sendError", function (event) {
    var control = event.detail.elt;
    if (control && control.closest && control.closest("[data-own-errors]")) return;
    var anchor = (control && control.closest && control.closest("form")) || control;
    if (!anchor || !anchor.insertAdjacentElement) return;
    var message = document.createElement("div");
    message.className = "notice notice-error error-box";
    message.setAttribute("data-testid", "error-message");
    message.setAttribute("role", "alert");
    message.tabIndex = -1;
    message.textContent = "We could not reach fanapp: check your connection, then try again.";
    anchor.insertAdjacentElement("afterend", message);
    reveal(message);
  });
})();
