#!/bin/sh
# Installs the Debian packages gpuctl needs to build and test, only those
# that are missing; prints nothing when everything is already there.
set -eu
packages="gcc make pkg-config meson ninja-build libjansson-dev libpcre2-dev
libncurses-dev libsqlite3-dev libcurl4-openssl-dev libcairo2-dev
libmicrohttpd-dev libgnutls28-dev libcmocka-dev python3 python3-pytest tmux time
python3-websockets prometheus curl openssl wrk nginx-light"
missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
