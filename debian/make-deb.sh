#!/bin/sh
# debian/make-deb.sh OUTDIR [VERSION] — "make deb": build the Debian
# package of this tree with dpkg-buildpackage, in a copy of the tree
# under OUTDIR (dpkg-buildpackage writes its results beside the tree it
# builds, and the tree's own build/ holds objects of other flags), and
# leave OUTDIR/posthorn_VERSION_ARCH.deb.
#
# VERSION: the package's version; by default debian/changelog's, and in
# a git checkout that version + "+git" + the count of commits + the
# commit, so that each commit's package upgrades the last one ("apt-get
# install ./posthorn_*.deb").
#
# The copy keeps its build/ from one run to the next, and the sources
# keep their times: make rebuilds only what changed.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: make-deb.sh OUTDIR [VERSION]" >&2
	exit 64
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
W=$OUT/posthorn
version=${2-}

for t in dpkg-buildpackage dh; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "make-deb.sh: no $t: apt-get install dpkg-dev debhelper" \
		    "(t/deps.sh installs them)" >&2
		exit 1
	}
done

if [ -z "$version" ]; then
	version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
	if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		version=$version+git$(git -C "$SRC" rev-list --count HEAD).$(git \
		    -C "$SRC" rev-parse --short HEAD)
	fi
fi
case $version in
[0-9]*) ;;
*)	echo "make-deb.sh: version \"$version\": must start with a digit" >&2
	exit 64 ;;
esac

# The tree but its builds and git; the copy's own build/ stays.  (dh's
# stamps go with the old debian/: a kept one would skip the build.)
mkdir -p "$W"
find "$W" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
tar -C "$SRC" -cf - --exclude='./build*' --exclude=./.git \
    --exclude='./t/e2e/__pycache__' . | tar -C "$W" -xf -
# The version, on the first line of the copy's changelog.
sed -i "1s/([^)]*)/($version)/" "$W/debian/changelog"
rm -f "$OUT"/posthorn_*.deb "$OUT"/posthorn-dbgsym_*.deb \
    "$OUT"/posthorn_*.buildinfo "$OUT"/posthorn_*.changes

: "${DEB_BUILD_OPTIONS=parallel=$(nproc)}"
export DEB_BUILD_OPTIONS
# -nc: no "debian/rules clean" first, which would remove build/.
(cd "$W" && dpkg-buildpackage -b -us -uc -nc) >"$OUT/build.log" 2>&1 || {
	tail -n 30 "$OUT/build.log" >&2
	echo "make-deb.sh: dpkg-buildpackage failed (all in $OUT/build.log)" >&2
	exit 1
}
ls "$OUT"/posthorn_"$version"_*.deb
