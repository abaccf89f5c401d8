#!/bin/sh
# deps.sh PKG...: install the Debian packages of the list that are missing.
#
# Silent when everything is there. Otherwise says what it installs and runs
# apt-get (one update, one install, no recommends). Without root or without
# apt-get it names the missing packages and exits 1, so that "make check"
# fails with a reason instead of a compiler error.

missing=
for pkg in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=
	if [ "$status" != "install ok installed" ]; then
		missing="${missing:+$missing }$pkg"
	fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing Debian packages: $missing (and no apt-get to install them)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: $missing" >&2
	echo "deps: run as root, or: apt-get install $missing" >&2
	exit 1
fi

echo "deps: installing: $missing"
case " $missing " in
*" postfix "*)
	# The suite runs Postfix instances of its own; the package must not
	# configure (or start) one for the host.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections ;;
esac
apt-get update -qq || exit 1
# $missing is split into words on purpose: package names have no spaces.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing || exit 1
