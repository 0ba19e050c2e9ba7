"""What the tests and the benchmarks share to run the real stack: a process launcher that
stops what it started and nothing else, a free local port, and a polling wait.

Test tooling, not the service: the image leaves it out (.dockerignore).
"""

from testkit.processes import ROOT, Proc, celery_worker_argv, free_port, wait_until

__all__ = ["ROOT", "Proc", "celery_worker_argv", "free_port", "wait_until"]
