// The Apple Music way in: MusicKit JS asks the listener for consent in Apple's own window, then this form
// posts the Music User Token (with its CSRF token) to POST /connect/apple-music.
// MusicKit JS is loaded only when the visitor presses the button, from the URL the server names (Apple's
// CDN; the CSP allows exactly that file). Without JavaScript the form posts no token and the server
// explains that Apple needs it.
(function () {
  "use strict";

  var LOAD_TIMEOUT_MS = 20000;
  var loading = null; // one MusicKit load per page, whatever the number of presses

  function musicKitReady(src) {
    if (window.MusicKit && typeof window.MusicKit.configure === "function") return Promise.resolve();
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error("timeout")); }, LOAD_TIMEOUT_MS);
      document.addEventListener("musickitloaded", function () {
        clearTimeout(timer);
        resolve();
      }, { once: true });
      var script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onerror = function () {
        clearTimeout(timer);
        reject(new Error("load"));
      };
      document.head.appendChild(script);
    });
    loading.catch(function () { loading = null; }); // a failed load may be tried again
    return loading;
  }

  function say(form, text, isError) {
    var status = form.querySelector("[data-apple-music-status]");
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("notice-error", !!isError);
  }

  function busy(form, on) {
    form.classList.toggle("is-busy", on);
    if (on) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  }

  function connect(form) {
    var field = form.querySelector("input[name='music_user_token']");
    busy(form, true);
    say(form, "Opening Apple Music…", false);
    musicKitReady(form.getAttribute("data-musickit-src"))
      .then(function () {
        return Promise.resolve(window.MusicKit.configure({
          developerToken: form.getAttribute("data-developer-token"),
          app: { name: form.getAttribute("data-app-name") || "your Soundtrack", build: "1" },
        })).catch(function (error) {
          throw { stage: "configure", cause: error };
        });
      }, function (error) {
        throw { stage: "load", cause: error };
      })
      .then(function () {
        say(form, "Waiting for you to agree in Apple's window…", false);
        return window.MusicKit.getInstance().authorize();
      })
      .then(function (userToken) {
        if (typeof userToken !== "string" || !userToken) throw new Error("no token");
        field.value = userToken;
        say(form, form.getAttribute("data-working-text") || "Connected. Reading your music…", false);
        form.submit(); // a real form post: the server answers with the next page
      })
      .catch(function (error) {
        busy(form, false);
        field.value = "";
        var stage = error && error.stage;
        say(form, stage === "load"
          ? "We could not load Apple's sign-in. Check your connection and press Connect Apple Music again, or use another way in."
          : stage === "configure"
            ? "Apple Music did not accept this site's sign-in right now, so nothing was imported. Please try again later, or use another way in."
            : "Apple Music did not give us permission (the window may have been closed or blocked), so nothing was imported. Press Connect Apple Music to try again, or use another way in.",
          true);
      });
  }

  // A page brought back by the Back button keeps its fields: never keep a used token in it.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-apple-music] input[name='music_user_token']").forEach(function (field) {
      field.value = "";
    });
  });

  document.querySelectorAll("form[data-apple-music]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("input[name='music_user_token']");
      if (!field || field.value) return;
      event.preventDefault();
      if (form.classList.contains("is-busy")) return; // one consent window at a time
      connect(form);
    });
  });
})();
