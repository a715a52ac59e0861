#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/test_browser.py), when it is missing and
# this machine can: as root with apt-get. Otherwise say why; the browser tests then skip.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null && exit 0
  echo "install_browser: apt-get could not install chromium; browser tests will be skipped"
else
  echo "install_browser: no /usr/bin/chromium and no root apt-get; browser tests will be skipped"
fi
exit 0
