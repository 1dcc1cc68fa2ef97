#!/bin/sh
# Install the Debian packages the build, tests, interop peer and demo need,
# but only those that are missing. Needs root (or sudo) on a fresh machine.
set -eu
PKGS="build-essential pkg-config libevent-dev libmbedtls-dev libjerasure-dev
libgf-complete-dev libyaml-dev check libjansson-dev zlib1g-dev libsodium-dev
iproute2 golang-go golang-github-xtaci-kcp-dev kcptun procps
xxd python3 curl libsnappy-dev openssl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
echo "deps: installing$missing"
$SUDO apt-get update -q >/dev/null || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
fi
# The dashboard's browser test drives chromium through playwright-core
# (npm), installed into tests/browser/node_modules (ignored by git). Node
# and npm come from Debian unless the machine has them already.
# Without chromium (not installable here) that test skips and says so.
if ! command -v chromium >/dev/null 2>&1; then
	echo "deps: installing chromium (dashboard browser test)"
	$SUDO apt-get update -q >/dev/null || true
	$SUDO apt-get install -y -q --no-install-recommends chromium ||
		echo "deps: chromium could not be installed; the browser test will skip"
fi
if ! command -v npm >/dev/null 2>&1; then
	$SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$ROOT/tests/browser/node_modules/playwright-core/package.json" ]; then
	echo "deps: npm install playwright-core into tests/browser/node_modules"
	(cd "$ROOT/tests/browser" && npm install --no-audit --no-fund --loglevel=error)
fi
