# Varnish in front of fanapp's gunicorn: the cache tier of CONTRACT "Cache tier", run by the tests
# (tests/processes.py, with the backend port filled in) and usable as is in front of `make run`-style
# deployments. Varnish 7 (Debian's `varnish`): varnishd -f deploy/varnish/fanapp.vcl -a :6081
#
# - Only the public surfaces are cached (share page, .json, both images, episode embed, oEmbed); their
#   request cookies are dropped (those pages never read them), every other page passes.
# - Nothing that sets a cookie is ever cached, whatever the path.
# - The TTL comes from the app's Surrogate-Control (a day); browsers get the app's own Cache-Control.
# - `BAN` with a `Surrogate-Key: key1 key2` header, from the purgers ACL only, bans every object
#   tagged with one of those keys (what fanapp's purger sends on a take-down: CDN_PURGE_KIND=varnish).
# - Vary is Varnish's own: Accept-Encoding variants (Varnish gzips text itself) are kept apart.
vcl 4.1;

import std;

backend fanapp {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # Keys are `episode-<slug>` and `fanapp-public`: letters, digits, '-' and '_' only.
        if (req.http.Surrogate-Key !~ "^[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*$") {
            return (synth(400, "Give the keys to ban in Surrogate-Key, separated by spaces"));
        }
        # The ban's regex may hold no space (the ban parser splits its words on them): \s instead.
        if (std.ban("obj.http.Surrogate-Key ~ (^|\s)(" + regsuball(req.http.Surrogate-Key, " ", "|") +
                ")(\s|$)")) {
            return (synth(200, "Banned"));
        }
        return (synth(500, "Ban refused: " + std.ban_error()));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/(s/[A-Za-z0-9_-]+(\.json|\.png|/story\.png)?|embed/s/[A-Za-z0-9_-]+|oembed)(\?|$)") {
        unset req.http.Cookie;
        unset req.http.Authorization;
        return (hash);
    }
    return (pass);
}

sub vcl_backend_response {
    if (beresp.http.Set-Cookie) {
        # Never cache a cookie; remember for a while not to queue requests behind this URL.
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, "^.*max-age=([0-9]+).*$", "\1") + "s", 0s);
    } elsif (beresp.status >= 500) {
        set beresp.ttl = 0s;  # never keep an error of the moment
    }
    if (beresp.http.Content-Type ~ "^(text/|application/json)") {
        set beresp.do_gzip = true;
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # The tier's own headers stop here, as at Fastly and Cloudflare.
    unset resp.http.Surrogate-Control;
    unset resp.http.Surrogate-Key;
    unset resp.http.Cache-Tag;
    unset resp.http.CDN-Cache-Control;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}
