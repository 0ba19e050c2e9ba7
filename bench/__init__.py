"""The benchmark harness of notifier: ``python -m bench all`` (see README, "Benchmarks").

It starts the real stack (gunicorn, Celery workers, beat) on a PostgreSQL database
and a RabbitMQ vhost of its own, drives it from separate load-generator processes,
and writes ``docs/benchmarks.md``: every figure with its target and its ratio to a
floor measured in the same run, because this machine's speed drifts.
"""
