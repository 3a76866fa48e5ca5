#!/usr/bin/env bash
# Make sure a headless Chromium from Debian's packages is installed and print its path.
# Usage: .ci/browser.sh
# The browser tests drive it with Playwright's Python package (its driver ships in the wheel), so
# nothing is downloaded at test time. Idempotent: with Chromium already there it only prints the path.
# Installs Debian's chromium (and a font) when missing and we are root (CI machines); exit 3 otherwise.
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
bin=$(find_chromium)
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then echo "no Chromium and not root: cannot install" >&2; exit 3; fi
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/dev/null \
    || { echo "apt-get could not install chromium" >&2; exit 3; }
  bin=$(find_chromium)
  [ -n "$bin" ] || { echo "chromium installed but not found on PATH" >&2; exit 3; }
fi
echo "$bin"
