// Runs inside fanapp's embeds: tells the parent page how tall the card is, so it can size the iframe.
// Only a height crosses the frame boundary, so "*" as the target origin leaks nothing.
(function () {
  "use strict";
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (height === last || window.parent === window) return;
    last = height;
    window.parent.postMessage({ type: "fanapp:resize", height: height, href: location.href }, "*");
  }
  window.addEventListener("load", report);
  if ("ResizeObserver" in window) new ResizeObserver(report).observe(document.documentElement);
  report();
})();
