// Runs inside fanapp's embeds: tells the parent page how tall the card is, so it can size the iframe.
// Only the card's height and its own public URLs cross the frame boundary, so "*" as the target origin
// leaks nothing.
//
// Two hosts speak to it. embed-host.js (fanapp's own snippet) listens for "fanapp:resize". WordPress
// places an oEmbed iframe of a provider it does not know inside sandbox="allow-scripts" (no popups, no
// top navigation: target="_blank" links do nothing there) with "#?secret=…" on its address; its
// wp-embed script sends {message: "ready", secret}, sizes the iframe on {message: "height", value,
// secret} (200 to 1000 px) and opens {message: "link", value, secret} only for an http(s) URL on the
// iframe's own host. So, when the address carries a secret, the card answers "ready" with its height,
// sends its height on every change, and hands its own links to WordPress instead of following them.
(function () {
  "use strict";
  var found = /[#&?]secret=([A-Za-z0-9]{1,64})/.exec(location.hash);
  var secret = found ? found[1] : null;
  var last = 0;
  // The tight layout: in WordPress, and wherever the oEmbed iframe (its address ends in #compact) goes.
  if (secret || /^#compact\b/.test(location.hash)) document.documentElement.classList.add("embed-wp");

  function height() {
    // The card's own height (not scrollHeight, which never drops below the iframe's current height,
    // so a card shorter than its first frame would never shrink it).
    return Math.ceil(document.documentElement.getBoundingClientRect().height);
  }
  function tell(message, value) {
    window.parent.postMessage({ message: message, value: value, secret: secret }, "*");
  }
  function report() {
    var h = height();
    if (h === last || window.parent === window) return;
    last = h;
    window.parent.postMessage({ type: "fanapp:resize", height: h, href: location.href }, "*");
    if (secret) tell("height", h);
  }
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== window.parent || !data) return;
    // embed-host.js asks again when it starts: its listener may not have existed at our first report.
    // WordPress says "ready" once its script runs, for the same reason.
    if (data.type === "fanapp:measure" || (secret && data.message === "ready" && data.secret === secret)) {
      last = 0;
      report();
    }
  });
  if (secret) {
    document.addEventListener("click", function (event) {
      var link = event.target && event.target.closest ? event.target.closest("a[href]") : null;
      if (!link) return;
      var url = new URL(link.href, location.href);
      // Only fanapp's own pages: WordPress would refuse any other host, and the card never asks it to
      // open a stranger's address.
      if (url.origin !== location.origin || (url.protocol !== "https:" && url.protocol !== "http:")) return;
      event.preventDefault();
      tell("link", url.href);
    });
  }
  window.addEventListener("load", report);
  if ("ResizeObserver" in window) new ResizeObserver(report).observe(document.documentElement);
  report();
})();
