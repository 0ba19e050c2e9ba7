#!/usr/bin/env bash
# `make test`: the suite against the real PostgreSQL, RabbitMQ and Redis.
# Each run gets its own database (pytest-django creates and drops it) and its own
# RabbitMQ vhost (made here, deleted on exit), so concurrent runs never collide.
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
AMQP_HOST="${AMQP_HOST:-127.0.0.1}" AMQP_PORT="${AMQP_PORT:-5672}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}"

reachable() { python - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}
missing=0
check() {  # name host port how-to-start
  if ! reachable "$2" "$3"; then
    echo "make test: $1 is not reachable at $2:$3." >&2
    echo "  start it with: $4" >&2
    missing=1
  fi
}
check PostgreSQL "$PGHOST" "$PGPORT" 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (or: docker compose up -d postgres)'
check RabbitMQ "$AMQP_HOST" "$AMQP_PORT" 'rabbitmq-server -detached   (or: docker compose up -d rabbitmq)'
check Redis "$REDIS_HOST" "$REDIS_PORT" 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no   (or: docker compose up -d redis)'
[ "$missing" = 0 ] || exit 2

run_id="$(date +%Y%m%d%H%M%S)_$$"
if command -v rabbitmqctl >/dev/null; then
  rmq() { rabbitmqctl "$@"; }
elif docker compose ps --status running rabbitmq 2>/dev/null | grep -q rabbitmq; then
  rmq() { docker compose exec -T rabbitmq rabbitmqctl "$@"; }
else
  echo "make test: rabbitmqctl (RabbitMQ's CLI) is needed to create the run's vhost;" >&2
  echo "  install RabbitMQ locally, or run it with: docker compose up -d rabbitmq" >&2
  exit 2
fi
vhosts=()
cleanup() { for vhost in "${vhosts[@]}"; do rmq -q delete_vhost "$vhost" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

export REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/0"
export NOTIFIER_ENV_FILE=/dev/null  # a developer's .env must not change what the tests see
# Workers serve no /metrics port unless a test gives one: concurrent runs would contend for 9808.
export WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-0}"
export ALLOWED_HOSTS="testserver,localhost,127.0.0.1"

# A run's vhost, made (and remembered for the clean-up) in this shell, before any run starts.
add_vhost() {
  rmq -q add_vhost "notifier-test-$1" >/dev/null
  rmq -q set_permissions -p "notifier-test-$1" "${AMQP_USER:-guest}" '.*' '.*' '.*' >/dev/null
  vhosts+=("notifier-test-$1")
}
# run_pytest NAME ARGS…: pytest in a run of its own: its own database, vhost, key prefix and
# var dir, so two of them side by side never see each other's rows, messages or gates.
run_pytest() {
  local name="$1"; shift
  local vhost="notifier-test-$name"
  DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/notifier_$name" \
  CELERY_BROKER_URL="amqp://${AMQP_USER:-guest}:${AMQP_PASSWORD:-guest}@$AMQP_HOST:$AMQP_PORT/$vhost" \
  CACHE_KEY_PREFIX="notifier-test-$name" \
  NOTIFIER_VAR_DIR="${TMPDIR:-/tmp}/notifier-test-$name" \
  DEBUG=false SECRET_KEY="test-only-$name" \
    python -m pytest "$@"
}

[ "${SKIP_LINT:-0}" = 1 ] || ruff check .
if [ "$#" -gt 0 ]; then
  add_vhost "$run_id"
  run_pytest "$run_id" "$@"
  exit
fi

# The whole suite. First the failure suite, alone: it stops PostgreSQL, RabbitMQ and Redis on
# purpose, which nothing else may see. Then the other tests that start real processes (workers,
# beat, gunicorn, the benchmarks' quick run) one at a time, beside the rest (requests, services,
# admin, deploy files), each in a run of its own: the two take about as long, so together they
# take the longer one's time on two cores, not the sum.
FAILURES=(tests/failures)
PROCESSES=(tests/e2e tests/observability tests/test_bench.py)
add_vhost "${run_id}_failures"
add_vhost "${run_id}_others"
add_vhost "${run_id}_processes"
echo "make test: the failure suite first, alone"
run_pytest "${run_id}_failures" "${FAILURES[@]}"
others_log="${TMPDIR:-/tmp}/notifier-test-${run_id}-others.log"
ignores=()
for path in "${FAILURES[@]}" "${PROCESSES[@]}"; do ignores+=(--ignore "$path"); done
echo "make test: the tests that start processes below; the others run beside them (log: $others_log)"
run_pytest "${run_id}_others" "${ignores[@]}" >"$others_log" 2>&1 &
others=$!
processes_status=0
run_pytest "${run_id}_processes" "${PROCESSES[@]}" || processes_status=$?
others_status=0
wait "$others" || others_status=$?
echo
echo "================ the other tests (run beside them) ================"
cat "$others_log"
rm -f "$others_log"
[ "$processes_status" = 0 ] && [ "$others_status" = 0 ]
