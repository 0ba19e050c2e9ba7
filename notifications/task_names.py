"""The Celery task names, in one place: tasks register under them, publishers and the beat
schedule send by them. Publishing by name keeps services free of an import of ``tasks``.

Plain constants with no imports, so ``config/settings/`` can read them too.
"""

DELIVER = "notifications.deliver"
DELIVER_BATCH = "notifications.deliver_batch"
SWEEP_MISSED = "notifications.sweep_missed"
SWEEP_STUCK = "notifications.sweep_stuck"
PURGE_OLD = "notifications.purge_old"
EXPO_RECEIPTS = "notifications.expo_receipts"
BROADCAST_EXPAND = "notifications.broadcast_expand"
SWEEP_BROADCASTS = "notifications.sweep_broadcasts"
RUN_SCHEDULES = "notifications.run_schedules"
DIGEST_CLOSE = "notifications.digest_close"
SWEEP_DIGESTS = "notifications.sweep_digests"
