// Behind a cache tier (Varnish, a CDN) a share page or an embed is served without reaching fanapp, so the
// page counts its own view: one anonymous beacon with its path and its campaign parameters, nothing else
// (no cookie is read for it, no identifier is sent). See fanapp/sharing/counting.py.
(function () {
  "use strict";
  var script = document.currentScript;
  var target = script ? new URL("/count", script.src).href : "/count";
  var body = new URLSearchParams({ p: location.pathname, q: location.search.replace(/^\?/, "") });
  if (navigator.sendBeacon) navigator.sendBeacon(target, body);
})();
