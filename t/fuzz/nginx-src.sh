#!/usr/bin/env bash
# The nginx core files the fuzz targets link (pools, arrays, strings), taken
# from the upstream tarball of Debian's nginx source package, of the same
# version as the installed nginx-dev headers.  Debian's nginx-dev ships
# headers only; nothing of nginx's code is kept in this repository.
#   t/fuzz/nginx-src.sh <destination directory>
# Uses a private apt list (deb-src of the system's sources) beside the
# destination, so the system's apt configuration is left alone.
set -euo pipefail
dest=$1
files="os/unix/ngx_alloc.c core/ngx_array.c core/ngx_palloc.c core/ngx_string.c"
ver=$(dpkg-query -W -f='${source:Upstream-Version}' nginx-dev)
apt=$(dirname "$dest")/apt
mkdir -p "$apt/lists/partial" "$apt/parts" "$dest"

# deb-src twins of the system's deb sources
rm -f "$apt"/parts/*
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types: .*/Types: deb-src/' "$f" > "$apt/parts/$(basename "$f")"
done
: > "$apt/sources.list"
[ -f /etc/apt/sources.list ] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$apt/sources.list"

opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
      -o "Dir::State::Lists=$apt/lists" -o "Debug::NoLocking=1")
tarball="$apt/nginx_$ver.orig.tar.gz"
if [ ! -f "$tarball" ]; then
    apt-get "${opts[@]}" update -qq
    # the Debian part may be missing from a mirror; the upstream tarball is what we need
    (cd "$apt" && apt-get "${opts[@]}" source --download-only -qq "nginx" >/dev/null 2>&1) || true
fi
[ -f "$tarball" ] || { echo "could not download nginx_$ver.orig.tar.gz from Debian's archive" >&2; exit 1; }

for f in $files; do
    tar -xzOf "$tarball" "nginx-$ver/src/$f" > "$dest/$(basename "$f")"
done
echo "nginx $ver core files in $dest: $files"
