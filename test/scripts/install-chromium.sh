#!/bin/sh
# Installs Debian's chromium for the browser tests (TestCategory "Browser": the HTML report, the pages of petsml serve
# and petsml review), only when it is missing. Without chromium those tests are inconclusive on a developer's machine;
# under CI=true they fail, and so does this script when it cannot install it.
set -e
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  echo "chromium already installed: $(command -v chromium || command -v chromium-browser)"
  exit 0
fi
fail() {
  echo "error: chromium could not be installed ($1); the browser tests need Debian's chromium package." >&2
  exit 1
}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo"
  SUDO="sudo"
fi
command -v apt-get >/dev/null 2>&1 || fail "no apt-get on this machine"
$SUDO apt-get update -qq || fail "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium || fail "apt-get install chromium failed"
command -v chromium || fail "installed, but no chromium on PATH"
