"""``push``: a device token, sent through Expo's push service or Firebase Cloud Messaging.

A recipient ``ExponentPushToken[…]`` (or ``ExpoPushToken[…]``) goes to Expo, any other
token to FCM HTTP v1. Expo needs no credentials, so the channel always exists; FCM only
when ``FCM_CREDENTIALS`` names a service account, and an FCM token is refused at create
otherwise (naming the setting), so a notification that can never go is never stored.

Each service's answers are classed as the rest of the delivery layer does: 429 and 5xx
are worth retrying (``Retry-After`` honoured); a token the service says is gone for good
(FCM ``UNREGISTERED``, or ``INVALID_ARGUMENT`` about the token; Expo
``DeviceNotRegistered``) raises :class:`DeadToken`, so the token is kept as dead; any
other refusal is permanent. Neither access token nor key ever reaches a log or an error.

An Expo ticket only says Expo took the message: what happened next comes from its
receipts, read later in batches through :meth:`ExpoClient.receipts` (by the service
layer's periodic pass; this module knows no models).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import google.auth.exceptions
import google.auth.transport
import httpx
from google.auth.credentials import TokenState
from google.oauth2 import service_account

from notifier.base import Message, ProviderBase, Receipt
from notifier.errors import DeadToken, DeliveryError, PermanentError, TransientError
from notifier.gates import GateKeys
from notifier.http import Answer, ApiProvider
from notifier.transport import deadline

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_API_URL = "https://fcm.googleapis.com"
EXPO_API_URL = "https://exp.host"
# A provider API call, token fetch included, is over within this many seconds.
API_TIMEOUT = 10.0
# The DeadPushToken column: a longer token could not be remembered as dead.
MAX_TOKEN_CHARS = 512
# Expo and FCM both refuse a notification over 4 kB (title, body and data).
MAX_PUSH_BYTES = 4096
# Expo answers at most this many receipts per getReceipts call.
MAX_RECEIPT_IDS = 1000

EXPO_TOKEN = re.compile(r"Expo(?:nent)?PushToken\[[\x21-\x5a\x5c\x5e-\x7e]+\]")
# FCM registration tokens: URL-safe base64 with ':' (real ones are 140 to 250 characters).
FCM_TOKEN = re.compile(r"[A-Za-z0-9_\-:.]{32,}")


def is_expo_token(token: str) -> bool:
    return EXPO_TOKEN.fullmatch(token) is not None


def push_token(recipient: str) -> str:
    """``recipient`` as a push token of either service's shape (an ``ExponentPushToken[…]`` or an
    FCM registration token, at most ``MAX_TOKEN_CHARS``), or ``ValueError`` saying why not. Whether
    the service it goes to is configured is the provider's question, not this one's."""
    token = recipient.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError(f"A push token has at most {MAX_TOKEN_CHARS} characters.")
    if is_expo_token(token):
        return token
    if token.startswith(("ExponentPushToken", "ExpoPushToken")):
        raise ValueError("Not an Expo push token: write ExponentPushToken[…].")
    if not FCM_TOKEN.fullmatch(token):
        raise ValueError("Not a push token: an ExponentPushToken[…] or an FCM registration token.")
    return token


def push_data(payload: Any) -> dict[str, Any]:
    """The payload as a push message's ``data`` object: an object as it is, anything else
    under ``"payload"`` (both services take an object only)."""
    if payload is None:
        return {}
    return dict(payload) if isinstance(payload, Mapping) else {"payload": payload}


class PushProvider(ProviderBase):
    """The ``push`` channel: routes each token to the service that issued it."""

    name = "push"

    def __init__(self, *, expo: ExpoClient, fcm: FcmClient | None = None) -> None:
        self.expo = expo
        self.fcm = fcm

    def validate_recipient(self, recipient: str) -> str:
        token = push_token(recipient)
        if is_expo_token(token):
            return token
        if self.fcm is None:
            raise ValueError("FCM is not configured on this server (FCM_CREDENTIALS): only Expo push tokens.")
        return token

    def validate_content(self, *, subject: str, body: str, payload: Any) -> None:
        size = len(json.dumps({"title": subject, "body": body, "data": push_data(payload)}).encode())
        if size > MAX_PUSH_BYTES:
            raise ValueError(f"A push notification carries at most {MAX_PUSH_BYTES:,} bytes.", "payload")

    def gate_keys(self, message: Message) -> GateKeys | None:
        """The breaker and rate of the service the token goes to (``NOTIFY_RATE_EXPO``/``_FCM``)."""
        provider = ExpoClient.provider if is_expo_token(message.recipient) else FcmClient.provider
        return GateKeys(breaker=f"provider:{provider}", rate=provider)

    def send(self, message: Message) -> Receipt:
        if is_expo_token(message.recipient):
            return self.expo.send(message)
        if self.fcm is None:  # created while FCM was configured, and it is not any more
            raise PermanentError("push: FCM is not configured (FCM_CREDENTIALS)")
        return self.fcm.send(message)


class ExpoClient(ApiProvider):
    """Expo's push API: ``/push/send`` answers one ticket per message, and ``/push/getReceipts``
    later tells whether Apple or Google took it."""

    name = "push"
    provider = "expo"

    def __init__(self, *, base_url: str = EXPO_API_URL, access_token: str = "", timeout: float = API_TIMEOUT) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.headers = {"Accept": "application/json"}
        if access_token:
            self.headers["Authorization"] = f"Bearer {access_token}"

    def send(self, message: Message) -> Receipt:
        item = {"to": message.recipient, "title": message.subject, "body": message.body}
        if message.payload is not None:
            item["data"] = push_data(message.payload)
        answer = self.call("POST", "/--/api/v2/push/send", json=[item], headers=self.headers)
        tickets = (answer.json() or {}).get("data") if 200 <= answer.status < 300 else None
        if not isinstance(tickets, list) or len(tickets) != 1 or not isinstance(tickets[0], dict):
            raise self.error_for(answer, _expo_errors(answer))
        ticket = tickets[0]
        if ticket.get("status") == "ok":
            return Receipt(provider_message_id=str(ticket.get("id") or ""), provider=self.provider)
        raise self.ticket_error(ticket, token=message.recipient)

    def receipts(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The receipts Expo has for these ticket ids (at most 1,000), by id: ``{"status": "ok"}``
        or ``{"status": "error", "message", "details": {"error"}}``. An id Expo does not answer
        for has no receipt yet (or no longer: Expo keeps them about a day)."""
        if len(ids) > MAX_RECEIPT_IDS:
            raise ValueError(f"At most {MAX_RECEIPT_IDS} receipt ids per call.")
        answer = self.call("POST", "/--/api/v2/push/getReceipts", json={"ids": list(ids)}, headers=self.headers)
        found = (answer.json() or {}).get("data") if 200 <= answer.status < 300 else None
        if not isinstance(found, dict):
            raise self.error_for(answer, _expo_errors(answer))
        return {str(key): value for key, value in found.items() if isinstance(value, dict)}

    def ticket_error(self, ticket: Mapping[str, Any], *, token: str) -> DeliveryError:
        """A ticket (or receipt) with ``status: error``: ``DeviceNotRegistered`` a dead token,
        ``MessageRateExceeded`` worth retrying later, anything else permanent."""
        details = ticket.get("details")
        code = str(details.get("error") or "") if isinstance(details, dict) else ""
        text = f"expo: {code or 'error'}: {str(ticket.get('message') or '')[:300]}"
        if code == "DeviceNotRegistered":
            return DeadToken(text, token=token, provider=self.provider)
        if code == "MessageRateExceeded":
            return self._mark(TransientError(text))
        return self._mark(PermanentError(text))


def _expo_errors(answer: Answer) -> str:
    """A request-level refusal's ``errors`` (code and message), or the body's start."""
    errors = (answer.json() or {}).get("errors") if isinstance(answer.json(), dict) else None
    if not isinstance(errors, list):
        return ""
    return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict))[:300]


class FcmClient(ApiProvider):
    """FCM HTTP v1, authorised by a service account's OAuth access token.

    The token comes from google-auth, which signs a JWT with the account's key and trades
    it at the account's ``token_uri``; it is kept for the process and fetched again when it
    is within minutes of expiring, or once when FCM answers 401 (a token revoked early).
    """

    name = "push"
    provider = "fcm"

    def __init__(
        self, *, credentials_file: str, project_id: str = "", base_url: str = FCM_API_URL, timeout: float = API_TIMEOUT
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.credentials = service_account.Credentials.from_service_account_file(credentials_file, scopes=[FCM_SCOPE])
        self.project_id = project_id or self.credentials.project_id or ""
        if not self.project_id:
            raise ValueError("FCM_PROJECT_ID: not set, and the service-account file names no project_id.")
        self._token_request = _TokenRequest(self.client, timeout)
        self._lock = threading.Lock()

    def send(self, message: Message) -> Receipt:
        body = {"message": self.fcm_message(message)}
        answer = self._post(body, self.access_token())
        if answer.status == 401:
            answer = self._post(body, self.access_token(refresh=True))
        if 200 <= answer.status < 300:
            name = (answer.json() or {}).get("name") if isinstance(answer.json(), dict) else None
            return Receipt(provider_message_id=str(name or ""), provider=self.provider)
        raise self.fcm_error(answer, token=message.recipient)

    @staticmethod
    def fcm_message(message: Message) -> dict[str, Any]:
        """FCM's ``message``: ``data`` values must be strings, so any other value goes as JSON."""
        fields: dict[str, Any] = {
            "token": message.recipient,
            "notification": {"title": message.subject, "body": message.body},
        }
        data = push_data(message.payload)
        if data:
            fields["data"] = {
                str(key): value if isinstance(value, str) else json.dumps(value) for key, value in data.items()
            }
        return fields

    def access_token(self, *, refresh: bool = False) -> str:
        """The cached token, fetched again when stale or when ``refresh`` (after a 401)."""
        with self._lock:
            if refresh or self.credentials.token_state is not TokenState.FRESH:
                try:
                    self.credentials.refresh(self._token_request)
                except google.auth.exceptions.RefreshError as exc:
                    error = TransientError if exc.retryable else PermanentError
                    raise self._mark(error(f"fcm: OAuth token refused: {_first_line(exc)}")) from None
                except google.auth.exceptions.TransportError as exc:
                    raise self._mark(TransientError(f"fcm: OAuth token endpoint: {exc}")) from None
            return self.credentials.token

    def fcm_error(self, answer: Answer, *, token: str) -> DeliveryError:
        """``UNREGISTERED``, or ``INVALID_ARGUMENT`` about the token, is a dead token; otherwise
        the status decides (429 and 5xx transient)."""
        error = (answer.json() or {}).get("error") if isinstance(answer.json(), dict) else None
        error = error if isinstance(error, dict) else {}
        code = _fcm_error_code(error)
        text = f"{code or 'error'}: {str(error.get('message') or '')[:300]}" if error else ""
        if code == "UNREGISTERED" or (code == "INVALID_ARGUMENT" and _about_the_token(error)):
            return DeadToken(f"fcm: HTTP {answer.status}: {text}", token=token, provider=self.provider)
        return self.error_for(answer, text)

    def _post(self, body: dict[str, Any], access_token: str) -> Answer:
        return self.call(
            "POST",
            f"/v1/projects/{self.project_id}/messages:send",
            json=body,
            headers={"Authorization": f"Bearer {access_token}"},
        )


def _fcm_error_code(error: Mapping[str, Any]) -> str:
    """The ``FcmError`` detail's ``errorCode``, else the canonical ``status``."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.firebase.fcm.v1.FcmError"):
            return str(detail.get("errorCode") or "")
    return str(error.get("status") or "")


def _about_the_token(error: Mapping[str, Any]) -> bool:
    """``INVALID_ARGUMENT`` is also a payload FCM refuses: only one naming the token is a dead
    token (a ``BadRequest`` field violation on ``message.token``, or FCM's own wording)."""
    for detail in error.get("details") or ():
        for violation in (detail.get("fieldViolations") or ()) if isinstance(detail, dict) else ():
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                return True
    return "registration token" in str(error.get("message") or "").lower()


def _first_line(exc: Exception) -> str:
    """google-auth's refusal reason (``invalid_grant: …``), without the rest of its args."""
    return str(exc.args[0] if exc.args else exc).splitlines()[0][:300]


class _TokenResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class _TokenRequest(google.auth.transport.Request):
    """google-auth's HTTP seam, over the provider's own client: the token fetch gets the same
    per-call deadline, and no second HTTP library is needed."""

    def __init__(self, client: httpx.Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs) -> _TokenResponse:
        try:
            with deadline(self.timeout):
                return _TokenResponse(self.client.request(method, url, content=body, headers=headers))
        except (httpx.HTTPError, OSError) as exc:
            raise google.auth.exceptions.TransportError(f"{type(exc).__name__}") from None
