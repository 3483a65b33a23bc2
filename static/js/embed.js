// Runs inside fanapp's embeds: tells the parent page how tall the card is, so it can size the iframe.
// Only the card's height and its own public URL cross the frame boundary, so "*" as the target origin
// leaks nothing.
(function () {
  "use strict";
  var last = 0;
  function report() {
    // The card's own height (not scrollHeight, which never drops below the iframe's current height,
    // so a card shorter than its first frame would never shrink it).
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last || window.parent === window) return;
    last = height;
    window.parent.postMessage({ type: "fanapp:resize", height: height, href: location.href }, "*");
  }
  // embed-host.js asks again when it starts: its listener may not have existed at our first report.
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "fanapp:measure") return;
    last = 0;
    report();
  });
  window.addEventListener("load", report);
  if ("ResizeObserver" in window) new ResizeObserver(report).observe(document.documentElement);
  report();
})();
