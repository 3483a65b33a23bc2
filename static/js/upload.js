// The export upload, with htmx: a progress bar while the files travel (htmx:xhr:progress), the size
// checked before they do, the CSRF token sent as a header (so the server checks it before reading the
// body), and a refusal swapped in place with the message focused. Without this script (or htmx) the form
// posts as a plain multipart form and everything still works.
(function () {
  "use strict";
  var FORM = "form[data-testid='upload-export']";

  function formOf(element) {
    return element && element.closest ? element.closest(FORM) : null;
  }

  function status(form) {
    return form.querySelector("[data-upload-status]");
  }

  function showError(form, text) {
    var box = status(form);
    if (box) box.hidden = true;
    var error = form.querySelector("#export-error");
    if (!error) {
      error = document.createElement("p");
      error.id = "export-error";
      error.setAttribute("data-testid", "error-message"); // as the server's own refusal (CONTRACT)
      error.className = "notice notice-error";
      error.setAttribute("role", "alert");
      error.setAttribute("tabindex", "-1");
      var input = form.querySelector("input[type='file']");
      input.insertAdjacentElement("afterend", error);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "export-error");
    }
    error.textContent = text;
    error.focus();
  }

  function megabytes(bytes) {
    return Math.round(bytes / 1048576);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = formOf(event.detail.elt);
    if (!form) return;
    var limit = Number(form.getAttribute("data-max-bytes")) || 0;
    var total = 0;
    Array.prototype.forEach.call(form.querySelector("input[type='file']").files || [], function (file) {
      total += file.size;
    });
    if (limit && total > limit) {
      event.preventDefault();
      showError(form, "These files are " + megabytes(total) + " MB in all, more than the " + megabytes(limit) +
        " MB we accept. Please upload only the StreamingHistory or Streaming_History_Audio files (or the " +
        "zip as Spotify sent it).");
      return;
    }
    var box = status(form);
    if (box) {
      box.hidden = false;
      box.querySelector("progress").value = 0;
      box.querySelector("p").textContent = "Uploading " + megabytes(total) + " MB…";
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var form = formOf(event.detail.elt);
    if (!form) return;
    var token = form.querySelector("input[name='csrf_token']");
    if (token) event.detail.headers["X-CSRFToken"] = token.value;
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = formOf(event.target);
    if (!form || !event.detail.lengthComputable) return;
    var box = status(form);
    if (!box) return;
    var percent = Math.floor((event.detail.loaded / event.detail.total) * 100);
    box.querySelector("progress").value = percent;
    box.querySelector("p").textContent = percent < 100
      ? "Uploading: " + percent + " % of " + megabytes(event.detail.total) + " MB"
      : "Uploaded. Checking your files…";
  });

  // A refusal comes back as the form with its message (400, 413): swap it in. Any other error page says
  // what happened in its error-message element: show that text by the form.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = formOf(event.detail.elt);
    if (!form || event.detail.xhr.status < 400) return;
    var text = event.detail.xhr.responseText || "";
    if (text.indexOf("data-testid=\"upload-export\"") !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      return;
    }
    event.detail.shouldSwap = false;
    var page = new DOMParser().parseFromString(text, "text/html");
    var message = page.querySelector("[data-testid='error-message']") || page.querySelector("h1");
    showError(form, message ? message.textContent.trim()
      : "The upload failed (error " + event.detail.xhr.status + "). Please try again.");
  });

  document.addEventListener("htmx:sendError", function (event) {
    var form = formOf(event.detail.elt);
    if (form) showError(form, "The upload was interrupted before it reached us. Please check your connection and try again.");
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var form = event.target && event.target.matches && event.target.matches(FORM) ? event.target : null;
    var error = form && form.querySelector("#export-error");
    if (error) error.focus();
  });
})();
