// For campaign pages that embed fanapp: resizes fanapp iframes to their content.
// Usage: <iframe class="fanapp-embed" src="https://FANAPP/embed/start"></iframe>
//        <script src="https://FANAPP/static/js/embed-host.js" async></script>
// (or the iframe from fanapp's oEmbed answer, which is sandboxed: that works the same).
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : null;

  // fanapp's iframes on this page: those whose address is on the origin this script came from.
  function fanappFrames() {
    return Array.prototype.filter.call(document.querySelectorAll("iframe"), function (frame) {
      try {
        return !origin || new URL(frame.src, location.href).origin === origin;
      } catch (e) {
        return false;
      }
    });
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "fanapp:resize" || typeof data.height !== "number") return;
    // A sandboxed iframe (the oEmbed snippet has no allow-same-origin) speaks from the opaque origin
    // "null"; either way the sender must be the window of one of fanapp's own iframes.
    if (origin && event.origin !== origin && event.origin !== "null") return;
    fanappFrames().forEach(function (frame) {
      if (frame.contentWindow === event.source) {
        frame.style.height = Math.min(Math.max(Math.ceil(data.height), 100), 4000) + "px";
      }
    });
  });

  // An iframe that loaded before this (async) script missed our listener: ask each one to measure again.
  function ask() {
    fanappFrames().forEach(function (frame) {
      if (frame.contentWindow) frame.contentWindow.postMessage({ type: "fanapp:measure" }, "*");
    });
  }
  ask();
  window.addEventListener("load", ask);
})();
