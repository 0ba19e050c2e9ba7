#!/usr/bin/env bash
# Puts Prometheus's promtool (the rules/config checker the deploy tests run) at $1, taken from
# Debian's prometheus package without installing the package: installing it would start a
# Prometheus server. Needs apt's package lists (run `apt-get update` once on a fresh machine).
set -euo pipefail
dest="$(realpath -m "$1")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if ! apt-get download -q prometheus >download.log 2>&1; then
  # A fresh machine may have stale or empty lists: refresh them once, then try again.
  apt-get update -q >/dev/null
  apt-get download -q prometheus >download.log 2>&1 || { cat download.log >&2; exit 1; }
fi
dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool
install -m 0755 usr/bin/promtool "$dest"
"$dest" --version | head -1
