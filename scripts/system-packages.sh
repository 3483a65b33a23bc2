#!/usr/bin/env bash
# System packages the project needs beyond Python: Debian's Chromium for the browser tests (Playwright's
# own browser download cannot work on machines without internet access), the Noto fonts that share
# images fall back to for CJK, Hebrew, Arabic and emoji, wrk for the share-page benchmark, and Varnish
# for the cache-tier tests (deploy/varnish/fanapp.vcl in front of gunicorn).
# Installs only what is missing.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
[ -e /usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf ] || need+=(fonts-noto-core)
command -v wrk >/dev/null || need+=(wrk)
command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] || need+=(varnish)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${need[*]} (install them with your package manager)." >&2
  exit 0
fi
echo "Installing ${need[*]} from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
