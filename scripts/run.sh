#!/usr/bin/env bash
# `make run`: prepare the database and the demo client, then start web, worker,
# beat and flower in the foreground (Ctrl-C stops them all).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-8000}" FLOWER_PORT="${FLOWER_PORT:-5555}"
# Web and Flower on this machine only: the embedded default has a public dev key, plain HTTP
# and an open Flower. LISTEN_ADDRESS=0.0.0.0 opens them to the network, knowingly.
export LISTEN_ADDRESS="${LISTEN_ADDRESS:-127.0.0.1}"
# The embedded database and broker under var/ when DATABASE_URL is not set (settings refuse to
# fall back to them unless asked, so a production deploy never does by accident).
export NOTIFY_EMBEDDED="${NOTIFY_EMBEDDED:-true}"
python manage.py migrate --noinput -v 0
python manage.py setup_broker
python manage.py bootstrap_demo
exec honcho start web worker beat flower
