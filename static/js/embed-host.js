// For campaign pages that embed fanapp: resizes fanapp iframes to their content.
// Usage: <iframe class="fanapp-embed" src="https://FANAPP/embed/start"></iframe>
//        <script src="https://FANAPP/static/js/embed-host.js" async></script>
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : null;
  window.addEventListener("message", function (event) {
    if (origin && event.origin !== origin) return;
    var data = event.data;
    if (!data || data.type !== "fanapp:resize" || typeof data.height !== "number") return;
    var frames = document.querySelectorAll("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.min(Math.max(data.height, 100), 4000) + "px";
      }
    }
  });
})();
