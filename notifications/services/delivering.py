"""Delivering a notification: claim → send → record, one row or a batch of rows; the retry policy.

The claim is one conditional UPDATE (``fastpaths.claim_row``), so a duplicated,
redelivered or swept message finds nothing to do. The send happens outside any
transaction. The record (``recording``) writes the attempt and the row's new
status only while the claim still holds, so a worker that outlived its lease
cannot overwrite what the stuck-sweep decided.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError
from django.utils import timezone

import notifier
from notifications import conf, logcontext, selectors
from notifications.dispatch import Dispatch, publish
from notifications.models import LIVE_STATUSES, Notification, Status
from notifications.services.deferring import DEFERRED, notification_defer
from notifications.services.fastpaths import claim_row
from notifications.services.profiles import OptedOut, addresses_at_send
from notifications.services.publishing import dispatch_of, publish_or_leave_to_sweep
from notifications.services.recording import (
    DeliveryDeferred,
    DeliveryResult,
    record_failure,
    record_success,
    record_suppressed,
    remember_dead_token,
)
from notifications.services.signing import webhook_secret_get_or_create
from notifier import gates

logger = logging.getLogger(__name__)

# A claim that finds its row due within this much waits for it instead of re-publishing.
EARLY_WAIT_MAX = timedelta(seconds=1.5)


# A client's signing secrets by owner id: a batch reads each client's once.
SigningCache = dict[int, tuple[str, ...]]


def notification_claim(*, notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str) -> Notification | None:
    """Take a due row for sending: one conditional UPDATE; ``None`` when another message,
    a cancel or a reschedule got there first (or the row is not due yet)."""
    try:
        notification_id, dispatch_token = uuid.UUID(str(notification_id)), uuid.UUID(str(dispatch_token))
    except ValueError:
        return None
    return claim_row(
        notification_id=notification_id, dispatch_token=dispatch_token, now=timezone.now(), lease=conf.lease()
    )


def notification_deliver(
    *,
    notification_id: uuid.UUID | str,
    dispatch_token: uuid.UUID | str,
    signing_cache: SigningCache | None = None,
) -> DeliveryResult | None:
    """Claim, send through the channel's provider, record the outcome.

    Returns ``None`` when the message had nothing to do (claimed elsewhere,
    cancelled, rescheduled, unknown). Raises ``DeliveryDeferred`` on a transient
    failure with attempts left, for the task to retry.
    """
    notification = _claim_when_due(notification_id, dispatch_token)
    if notification is None:
        return None
    if notification.trace_id:  # the row's own, over the message's (a sweep's, a retry's)
        logcontext.bind_in_task(trace_id=notification.trace_id)
    started_at = timezone.now()
    try:
        addresses = addresses_at_send(notification)
        if len(addresses) > 1:
            receipt = _send_to_every_token(notification, addresses)
        else:
            receipt = _send_through_gates(notification, signing_cache, addresses[0])
    except OptedOut:
        return record_suppressed(notification)
    except gates.NotNow as not_now:
        return notification_defer(
            notification, retry_in=not_now.retry_in, reason=str(not_now), until=not_now.until, kind=not_now.kind
        )
    except Exception as exc:  # a provider's bug too: record_failure retries it, never drops it
        return record_failure(notification, started_at=started_at, exc=exc)
    return record_success(notification, started_at=started_at, receipt=receipt)


def _send_to_every_token(notification: Notification, tokens: list[str]) -> notifier.Receipt:
    """A push to a profile goes to each of its tokens: sent when one accepted it (dead tokens
    leave the profile on the way), else the failure: transient if any token's was."""
    accepted: list[tuple[str, notifier.Receipt]] = []
    transient: Exception | None = None
    permanent: Exception | None = None
    for token in tokens:
        try:
            accepted.append((token, _send_through_gates(notification, None, token)))
        except gates.NotNow:
            if not accepted:
                raise  # nothing went yet: the whole push waits
            logger.info("notification %s: a push token held back after another accepted it", notification.id)
        except notifier.TransientError as exc:
            transient = exc
        except notifier.PermanentError as exc:
            if isinstance(exc, notifier.DeadToken):
                remember_dead_token(notification, exc)
            permanent = exc
    if accepted:
        token, receipt = accepted[0]
        if token != notification.recipient:
            # The row names the token whose message id it keeps: a later receipt is about that one.
            Notification.objects.filter(id=notification.id, status=Status.SENDING).update(recipient=token)
            notification.recipient = token
        return receipt
    raise transient or permanent or notifier.PermanentError("no push token accepted it")


def _send_through_gates(
    notification: Notification, signing_cache: SigningCache | None, address: str
) -> notifier.Receipt:
    """The provider's send to ``address``, past its breaker, host cap and rate
    (``gates.NotNow`` when one is closed); the breaker counts a transient failure against
    the target, and an answer, even a refusal, for it."""
    provider = notifier.get_provider(notification.channel)
    message = _message_for(notification, provider, signing_cache, address)
    keys = provider.gate_keys(message)
    if keys is None:
        return provider.send(message)
    with gates.admit(keys) as admission:
        try:
            receipt = provider.send(message)
        except notifier.TransientError:
            admission.failed()
            raise
        except notifier.PermanentError:
            admission.succeeded()
            raise
        admission.succeeded()
        return receipt


def _claim_when_due(notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str) -> Notification | None:
    notification = notification_claim(notification_id=notification_id, dispatch_token=dispatch_token)
    if notification is None and _wait_if_early(notification_id=notification_id, dispatch_token=dispatch_token):
        notification = notification_claim(notification_id=notification_id, dispatch_token=dispatch_token)
    return notification


def _wait_if_early(*, notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str) -> bool:
    """A message that arrived before its row is due: wait out a short remainder
    (True), or publish it again for the longer one (False)."""
    row = (
        Notification.objects.filter(id=notification_id, dispatch_token=dispatch_token, status__in=LIVE_STATUSES)
        .values("next_attempt_at", "priority")
        .first()
    )
    if row is None or row["next_attempt_at"] is None:
        return False
    remaining = row["next_attempt_at"] - timezone.now()
    if remaining <= timedelta(0):
        return True  # raced with a retry's rescheduling: claim again
    if remaining <= EARLY_WAIT_MAX:
        time.sleep(remaining.total_seconds())
        return True
    token = uuid.UUID(str(dispatch_token))
    publish([Dispatch(uuid.UUID(str(notification_id)), token, row["next_attempt_at"], row["priority"])])
    return False


def _message_for(
    notification: Notification, provider: notifier.Provider, signing_cache: SigningCache | None, address: str
) -> notifier.Message:
    signing: tuple[str, ...] = ()
    if notification.channel == "webhook":
        cache = {} if signing_cache is None else signing_cache
        if notification.owner_id not in cache:
            secret = webhook_secret_get_or_create(owner_id=notification.owner_id)
            cache[notification.owner_id] = selectors.signing_secrets(secret=secret)
        signing = cache[notification.owner_id]
    return notifier.Message(
        id=str(notification.id),
        recipient=address,
        subject=notification.subject,
        body=notification.body,
        html=notification.html,
        payload=notification.payload,
        signing_secrets=signing,
        callback_url=_callback_url(provider),
    )


def _callback_url(provider: notifier.Provider) -> str:
    path = getattr(provider, "callback_path", "")
    return conf.public_url() + path if path and conf.public_url() else ""


def retry_window(attempts: int) -> tuple[int, int]:
    """The shortest and longest wait, in seconds, after ``attempts`` attempts.

    The longest is Celery's exponential backoff, ``retry_backoff * 2 ** (attempts - 1)``
    capped at ``retry_backoff_max``. The shortest is half of it ("equal jitter"), not
    Celery's full jitter from 0: retries still spread out, but none is immediate, and the
    policy's horizon (``retry_horizon``) has a floor that can be promised.
    """
    longest = get_exponential_backoff_interval(
        factor=conf.retry_backoff(), retries=max(attempts - 1, 0), maximum=conf.retry_backoff_max()
    )
    return (longest + 1) // 2, longest


def retry_countdown(*, attempts: int, retry_after: float | None = None) -> int:
    """Seconds before the next attempt, for the single and the batch paths alike: a uniform
    draw from ``retry_window``, or the provider's ``Retry-After`` if longer."""
    shortest, longest = retry_window(attempts)
    return max(random.randint(shortest, longest), math.ceil(retry_after or 0))


def retry_horizon(max_attempts: int) -> tuple[int, int]:
    """The shortest and longest time, in seconds, from a first attempt to the last of
    ``max_attempts``, when every attempt fails transiently with no ``Retry-After``."""
    windows = [retry_window(attempts) for attempts in range(1, max_attempts)]
    return sum(low for low, _ in windows), sum(high for _, high in windows)


def notification_schedule_retry(
    *, notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str, countdown: float
) -> datetime:
    """Record when the retry about to be published is due."""
    now = timezone.now()
    due = now + timedelta(seconds=countdown)
    Notification.objects.filter(id=notification_id, dispatch_token=dispatch_token, status=Status.RETRYING).update(
        next_attempt_at=due, last_enqueued_at=now, updated_at=now
    )
    return due


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    handed_off: int = 0
    deferred: int = 0  # a gate said not now: back to wait, no attempt spent
    suppressed: int = 0  # the recipient opted out since it was made
    errored: int = 0  # left to the sweeps by an error of this row's own


def notification_deliver_batch(
    *, notification_ids: list[str], dispatch_token: uuid.UUID | str, budget: timedelta
) -> BatchResult:
    """Deliver the notifications of one ``deliver_batch`` message, one claim each.

    The message amortises the broker's cost; every row still has its own claim,
    lease, attempt record and outcome. A transient failure gets its own
    ``deliver`` message with the same backoff a single delivery would get. Once
    the batch has run for ``budget`` (or the task's soft time limit fires), the
    ids not yet tried are handed off in a new message, so no lease outlives its
    worker's attention and a slow receiver cannot hold a batch hostage.

    Rows of one batch may belong to different clients, so an error of one row's own
    (a value the database refuses, a bug) is logged and leaves that row to the sweeps;
    the others still go. Only the database being unreachable stops the batch: the
    task retries the whole message.
    """
    result = BatchResult()
    signing_cache: SigningCache = {}
    deadline = time.monotonic() + budget.total_seconds()
    for index, notification_id in enumerate(notification_ids):
        if time.monotonic() > deadline:
            result.handed_off = _hand_off(notification_ids[index:], dispatch_token)
            break
        if not _deliver_in_batch(notification_id, dispatch_token, signing_cache, result):
            result.handed_off = _hand_off(notification_ids[index + 1 :], dispatch_token)
            break
    return result


def _deliver_in_batch(
    notification_id: str, dispatch_token: uuid.UUID | str, signing_cache: SigningCache, result: BatchResult
) -> bool:
    """One row of a batch, counted in ``result``; False once the task's soft time limit fired.
    Its log lines name the row (and its trace), not the batch's first."""
    with logcontext.bound(notification_id=notification_id, trace_id=logcontext.current_trace_id()):
        return _deliver_row_of_batch(notification_id, dispatch_token, signing_cache, result)


def _deliver_row_of_batch(
    notification_id: str, dispatch_token: uuid.UUID | str, signing_cache: SigningCache, result: BatchResult
) -> bool:
    try:
        outcome = notification_deliver(
            notification_id=notification_id, dispatch_token=dispatch_token, signing_cache=signing_cache
        )
    except DeliveryDeferred as deferred:
        _retry_later(notification_id, dispatch_token, deferred)
        result.retrying += 1
        return not isinstance(deferred.__cause__, SoftTimeLimitExceeded)
    except SoftTimeLimitExceeded:
        return False  # outside a send: the row, if claimed, is left to the stuck-sweep's lease
    except (OperationalError, InterfaceError):
        raise  # the database is away: the task retries the whole message
    except Exception:
        logger.exception("notification %s: delivery failed in its batch; left to the sweeps", notification_id)
        result.errored += 1
        return True
    if outcome is None:
        result.skipped += 1
    elif outcome.status == DEFERRED:
        result.deferred += 1
    elif outcome.status == Status.SENT:
        result.sent += 1
    elif outcome.status == Status.SUPPRESSED:
        result.suppressed += 1
    else:
        result.failed += 1
    return True


def _retry_later(notification_id: str, dispatch_token: uuid.UUID | str, deferred: DeliveryDeferred) -> None:
    countdown = retry_countdown(attempts=deferred.attempts, retry_after=deferred.retry_after)
    due = notification_schedule_retry(
        notification_id=notification_id, dispatch_token=dispatch_token, countdown=countdown
    )
    dispatch = Dispatch(
        uuid.UUID(str(notification_id)), uuid.UUID(str(dispatch_token)), due, deferred.priority, deferred.attempts
    )
    publish_or_leave_to_sweep([dispatch])


def _hand_off(notification_ids: list[str], dispatch_token: uuid.UUID | str) -> int:
    """Publish the untried rest of a batch again, as it was (same token, due now)."""
    rows = list(
        Notification.objects.filter(
            id__in=notification_ids, dispatch_token=dispatch_token, status__in=LIVE_STATUSES
        ).only("id", "dispatch_token", "next_attempt_at", "priority", "attempts")
    )
    publish_or_leave_to_sweep([dispatch_of(row) for row in rows])
    return len(rows)
