#!/bin/sh
# Opt-in: extract the German credit data set (credit-g.arff, 1000 rows) from Debian's `weka` package.
# weka is GPL-2, so the file is never committed: it goes to .uib-cache/datasets/ (git-ignored),
# where `uib` looks for `--dataset german-credit` unless --data-dir says otherwise.
# Usage: scripts/get-german-credit.sh [target-dir]
set -eu
target="${1:-.uib-cache/datasets}"
mkdir -p "$target"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download weka >/dev/null)
deb="$(ls "$work"/weka_*.deb)"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/weka/examples/credit-g.arff > "$work/credit-g.arff"
# Atomic: a reader never sees half a file.
mv "$work/credit-g.arff" "$target/credit-g.arff.tmp"
mv "$target/credit-g.arff.tmp" "$target/credit-g.arff"
echo "wrote $target/credit-g.arff ($(wc -l < "$target/credit-g.arff") lines)"
