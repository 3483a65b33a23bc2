// A stand-in for MusicKit JS v3, served to the browser tests at Apple's CDN URL (as htmx's npm file is
// served at its CDN URL): the same surface the app uses, `MusicKit.configure({developerToken, app})`,
// `MusicKit.getInstance()`, `instance.authorize()` resolving to the Music User Token, and the
// `musickitloaded` event on document. Where Apple opens its consent window, the stand-in asks the Apple
// Music double (`POST /musickit/authorize`) with the developer token the page configured it with, from
// the page's origin, so the double checks the page's token and its origin claim as Apple would.
// The test prepends `window.__appleMusicStandIn = {authorizeUrl: "…"}` to this file when it serves it.
(function () {
  "use strict";
  var options = window.__appleMusicStandIn || {};
  var instance = null;

  function Instance(config) {
    this.developerToken = config.developerToken;
    this.app = config.app || {};
    this.musicUserToken = "";
    this.isAuthorized = false;
  }

  Instance.prototype.authorize = function () {
    var self = this;
    return fetch(options.authorizeUrl, {
      method: "POST",
      mode: "cors",
      headers: { Authorization: "Bearer " + self.developerToken },
    }).then(function (response) {
      if (!response.ok) throw new Error("AUTHORIZATION_ERROR: Unauthorized");
      return response.json();
    }).then(function (body) {
      self.musicUserToken = body.music_user_token;
      self.isAuthorized = true;
      return self.musicUserToken;
    });
  };

  window.MusicKit = {
    version: "3.0.0-stand-in",
    configure: function (config) {
      if (!config || typeof config.developerToken !== "string" || !config.developerToken) {
        return Promise.reject(new Error("CONFIGURATION_ERROR: developerToken is required"));
      }
      instance = new Instance(config);
      window.__appleMusicStandIn.configured = { developerToken: config.developerToken, app: config.app };
      return Promise.resolve(instance);
    },
    getInstance: function () { return instance; },
  };
  window.__appleMusicStandIn = options;
  setTimeout(function () { document.dispatchEvent(new Event("musickitloaded")); }, 0);
})();
