#!/bin/sh
# Install the Debian packages the build, tests, interop peer and demo need,
# but only those that are missing. Needs root (or sudo) on a fresh machine.
set -eu
PKGS="build-essential pkg-config libevent-dev libmbedtls-dev libjerasure-dev
libgf-complete-dev libyaml-dev check libjansson-dev zlib1g-dev libsodium-dev
iproute2 golang-go golang-github-xtaci-kcp-dev kcptun procps libsnappy-dev
openssl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
