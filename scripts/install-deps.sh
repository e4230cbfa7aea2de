#!/bin/sh
# Installs the Debian packages gpuctl needs to build and test, only those
# that are missing; prints nothing when everything is already there.
set -eu
packages="gcc make pkg-config meson ninja-build libjansson-dev libpcre2-dev
libncurses-dev libsqlite3-dev libcurl4-openssl-dev libcairo2-dev
libmicrohttpd-dev libgnutls28-dev libcmocka-dev liblz4-dev python3 python3-pytest tmux time
python3-websockets prometheus curl openssl wrk nginx-light nodejs openssh-server
python3-torch libjs-chart.js chromium"
missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Debian ships npm apart from nodejs; NodeSource's nodejs carries its own.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "installing:$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The privilege separation directory sshd needs when it runs as root; the
# Debian service makes it at start, but the tests start their own sshd
# (tests/integration/test_remote.py) without the service.
if [ -x /usr/sbin/sshd ] && [ ! -d /run/sshd ] && [ "$(id -u)" -eq 0 ]; then
    install -d -m 0755 /run/sshd
fi

# Test clients from npm (never shipped): the official MCP SDK client for
# tests/integration/test_mcp.py, at the versions tests/mcp/package-lock.json
# pins, into the ignored tests/mcp/node_modules.  Without the registry the
# tests that need it say so and skip.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$top/tests/mcp/node_modules/@modelcontextprotocol/sdk/package.json" ] ||
   [ "$top/tests/mcp/package-lock.json" -nt "$top/tests/mcp/node_modules/.package-lock.json" ]; then
    (cd "$top/tests/mcp" && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "install-deps: npm ci in tests/mcp failed; the MCP SDK tests will be skipped" >&2
fi

# puppeteer-core for the dashboard's browser tests (tests/browser), driving
# Debian's chromium; at the versions tests/browser/package-lock.json pins.
if [ ! -f "$top/tests/browser/node_modules/puppeteer-core/package.json" ] ||
   [ "$top/tests/browser/package-lock.json" -nt "$top/tests/browser/node_modules/.package-lock.json" ]; then
    (cd "$top/tests/browser" && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "install-deps: npm ci in tests/browser failed; the browser tests will be skipped" >&2
fi
