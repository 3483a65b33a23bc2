#!/usr/bin/env bash
# The browser tests drive Debian's Chromium: Playwright's own browser download cannot work on machines
# without internet access, so install the distribution package when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Chromium is missing: install Debian's 'chromium' package to run the browser tests." >&2
  exit 0
fi
echo "Installing Chromium and fonts from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji >/dev/null
