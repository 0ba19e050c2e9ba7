"""Every write to notifications, one module per concern; the public names are re-exported
here, so callers write ``services.notification_cancel(...)``.

- ``creating``: create and bulk create, idempotency fingerprints.
- ``changing``: reschedule, cancel, retry, requeue of failed rows, an operator's delete.
- ``delivering``: claim → send → record, for one row and for a batch; the retry policy.
- ``recording``: an attempt's outcome, written only while the claim holds.
- ``deferring``: 'not now' from a gate: back to wait, no attempt spent.
- ``sweeping``: the missed- and stuck-sweeps, and retention.
- ``reporting``: what a provider reports after a send (``delivery_status``).
- ``push_receipts``: Expo's receipts, asked for in batches and stored as reports.
- ``signing``: each client's webhook signing secret.
- ``recipients``: recipient profiles (put, update) and their erase, in short batches.
- ``templates``: clients' templates (put, delete, check) and rendering one at create.
- ``topics``: clients' topics (put, subscribe, unsubscribe, delete), counts kept under a lock.
- ``broadcasts``: a broadcast's create, cancel, and the sweep that resumes stalled expansions.
- ``expanding``: a broadcast's expansion into notifications, a locked batch at a time
  (``broadcast_rows``: what a batch reads, in one query, and its rows, built cheaply).
- ``schedules``: recurring notifications (create, change, delete) and the pass that makes
  each due occurrence once.
- ``digests``: a digest member at create, joining its window in one statement;
  ``digest_closing``: a window's close into one notification, and the sweep of lost closes.
- ``events``: events to a client's endpoints, written in the transaction of the change (the
  outbox), and each delivery's outcome counted for its endpoint (disable after a failing run);
  ``endpoints``: a client's endpoints (create, change, delete) and the recover of failed events.
- ``publishing``: publishing on commit, or leaving the row to the sweep.
- ``fastpaths``: the three raw-SQL writes (COPY insert, the claim, the one-statement finish).

Each state change is one conditional UPDATE whose row count decides, so two
workers, a worker and a sweep, or a client and a worker can race on the same
row and exactly one wins. Publishing happens on commit and may fail without
failing the caller: the sweeps re-publish.
"""

from notifications.services.broadcasts import (
    broadcast_cancel,
    broadcast_create,
    broadcast_fingerprint,
    broadcasts_resume,
    publish_expansions,
)
from notifications.services.changing import (
    failed_requeue,
    notification_cancel,
    notification_delete,
    notification_reschedule,
    notification_retry,
    notifications_cancel_live,
)
from notifications.services.creating import (
    notification_bulk_create,
    notification_create,
    request_fingerprint,
)
from notifications.services.deferring import notification_defer
from notifications.services.delivering import (
    BatchResult,
    notification_claim,
    notification_deliver,
    notification_deliver_batch,
    notification_schedule_retry,
    retry_countdown,
    retry_horizon,
    retry_window,
)
from notifications.services.digest_closing import (
    DIGEST_CLOSE_GRACE,
    DigestClosed,
    digest_close,
    digest_close_later,
    digests_sweep,
)
from notifications.services.endpoints import endpoint_create, endpoint_delete, endpoint_recover, endpoint_update
from notifications.services.events import endpoint_delivery_outcome, events_blank, events_record
from notifications.services.expanding import broadcast_expand
from notifications.services.push_receipts import expo_receipts_collect
from notifications.services.recipients import (
    EraseResult,
    notifications_erase,
    recipient_erase,
    recipient_put,
    recipient_update,
)
from notifications.services.recording import (
    DeliveryDeferred,
    DeliveryResult,
    dead_push_token_record,
    record_attempt,
    record_failure,
    record_success,
    storable,
)
from notifications.services.reporting import provider_event_record
from notifications.services.schedules import (
    PassResult,
    schedule_create,
    schedule_delete,
    schedule_update,
    schedules_run,
    schedules_run_due,
)
from notifications.services.signing import (
    webhook_secret_get_or_create,
    webhook_secret_rotate,
    webhook_secrets_expire,
)
from notifications.services.sweeping import BACKLOG_PATIENCE, notifications_purge, sweep_missed, sweep_stuck
from notifications.services.templates import Rendered, template_check, template_delete, template_put, template_render
from notifications.services.topics import (
    REQUEST_IDS_MAX,
    TOPIC_MAX,
    topic_delete,
    topic_members_forget,
    topic_put,
    topic_subscribe,
    topic_unsubscribe,
)

__all__ = [
    "BACKLOG_PATIENCE",
    "DIGEST_CLOSE_GRACE",
    "REQUEST_IDS_MAX",
    "TOPIC_MAX",
    "BatchResult",
    "DeliveryDeferred",
    "DeliveryResult",
    "DigestClosed",
    "EraseResult",
    "PassResult",
    "Rendered",
    "broadcast_cancel",
    "broadcast_create",
    "broadcast_expand",
    "broadcast_fingerprint",
    "broadcasts_resume",
    "dead_push_token_record",
    "digest_close",
    "digest_close_later",
    "digests_sweep",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_delivery_outcome",
    "endpoint_recover",
    "endpoint_update",
    "events_blank",
    "events_record",
    "expo_receipts_collect",
    "failed_requeue",
    "notification_bulk_create",
    "notification_cancel",
    "notification_claim",
    "notification_create",
    "notification_defer",
    "notification_delete",
    "notification_deliver",
    "notification_deliver_batch",
    "notification_reschedule",
    "notification_retry",
    "notification_schedule_retry",
    "notifications_cancel_live",
    "notifications_erase",
    "notifications_purge",
    "provider_event_record",
    "publish_expansions",
    "recipient_erase",
    "recipient_put",
    "recipient_update",
    "record_attempt",
    "record_failure",
    "record_success",
    "request_fingerprint",
    "retry_countdown",
    "retry_horizon",
    "retry_window",
    "schedule_create",
    "schedule_delete",
    "schedule_update",
    "schedules_run",
    "schedules_run_due",
    "storable",
    "sweep_missed",
    "sweep_stuck",
    "template_check",
    "template_delete",
    "template_put",
    "template_render",
    "topic_delete",
    "topic_members_forget",
    "topic_put",
    "topic_subscribe",
    "topic_unsubscribe",
    "webhook_secret_get_or_create",
    "webhook_secret_rotate",
    "webhook_secrets_expire",
]
