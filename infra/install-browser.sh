#!/usr/bin/env bash
# Debian's chromium, for the dashboard page's browser tests (Playwright drives it; it never downloads
# a browser of its own). Idempotent: nothing to do where /usr/bin/chromium exists. As root with apt,
# it installs it; anywhere else it says loudly that the browser tests will skip, and exits 0.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "==> chromium (Debian's; the dashboard page's browser tests drive it headless)"
  if { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >/dev/null 2>&1 &&
    [ -x /usr/bin/chromium ]; then
    exit 0
  fi
  why="apt-get install chromium failed"
elif command -v apt-get >/dev/null; then
  why="not root: run 'sudo apt-get install chromium'"
else
  why="no apt-get on this machine: install Chromium so that /usr/bin/chromium exists"
fi
cat >&2 <<MESSAGE
############################################################################
##  NO BROWSER: /usr/bin/chromium is missing ($why).
##  The dashboard page's browser tests (tests/integration/test_dashboard_page.py,
##  tests/e2e/test_dashboard_browser.py) will SKIP.
############################################################################
MESSAGE
exit 0
