#!/bin/sh
# run.sh: "make bench". Measures sendq against msmtp, nullmailer and dma
# (see bench/README.md). As root on Debian 12, from a built tree.
#
# The peers' Debian packages and Postfix's (for smtp-sink) are fetched
# with apt-get download and unpacked with dpkg-deb -x into bench/scratch/
# (set-id bits dropped): nothing is installed as a mail system, nothing
# replaces /usr/sbin/sendmail. Only the shared libraries they need are
# installed. Then bench.py runs in a private mount namespace.
#
# BENCH_QUICK=1: 10x fewer messages, for development.
set -eu

cd "$(dirname "$0")/.."
SRC=$(pwd -P)
WORK=$SRC/bench/scratch
PEERS="msmtp nullmailer dma postfix"

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the peers drop privileges, dma wants user mail)"
[ -x "$SRC/sendmail" ] && [ -x "$SRC/sendq-runner" ] || die "build first: make"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
	die "needs apt-get and dpkg-deb (Debian)"
command -v unshare >/dev/null || die "needs unshare (util-linux)"

# What the helpers and the harness need.
sh "$SRC/t/deps.sh" gcc libc6-dev libssl-dev openssl python3 || exit 1

mkdir -p "$WORK/debs" "$WORK/root"
cd "$WORK/debs"
for pkg in $PEERS; do
	set -- "${pkg}"_*.deb
	[ -f "$1" ] && continue
	echo "bench: fetching $pkg"
	apt-get download -q "$pkg" >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get download -q "$pkg" >/dev/null 2>&1; } ||
		die "cannot download $pkg"
done

# The shared libraries the unpacked programs link: the lib* packages of
# their Depends (never an MTA, never debconf).
libs=
: >"$WORK/versions"
for pkg in $PEERS; do
	set -- "${pkg}"_*.deb
	deps=$(dpkg-deb -f "$1" Depends | tr ',' '\n' |
		sed 's/|.*//; s/(.*//; s/[[:space:]]//g' | grep '^lib' || :)
	libs="$libs $deps"
	v=$(dpkg-deb -f "$1" Version)
	[ "$pkg" = postfix ] || echo "$pkg ${v#*:}" >>"$WORK/versions"
	if [ ! -f "$WORK/root/$pkg/.unpacked" ] || [ "$1" -nt "$WORK/root/$pkg/.unpacked" ]; then
		rm -rf "${WORK:?}/root/$pkg"
		dpkg-deb -x "$1" "$WORK/root/$pkg"
		# Run as root from here, never set-id.
		find "$WORK/root/$pkg" -type f -perm /6000 -exec chmod ug-s {} +
		: >"$WORK/root/$pkg/.unpacked"
	fi
done
# shellcheck disable=SC2086
sh "$SRC/t/deps.sh" $(echo $libs | tr ' ' '\n' | sort -u) || exit 1

cd "$SRC"
cc -O2 -Wall -Wextra -o "$WORK/spawn" bench/spawn.c
cc -O2 -Wall -Wextra -o "$WORK/tlsfront" bench/tlsfront.c -lssl -lcrypto
[ -f "$WORK/ca/server.pem" ] || sh t/mkca.sh "$WORK/ca"

# Private mounts: dma's /etc/dma lives on an overlay only this run sees.
exec unshare --mount --propagation private /usr/bin/python3 bench/bench.py "$WORK"
