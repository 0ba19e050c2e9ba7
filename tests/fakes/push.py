"""One real local HTTP server answering as the three services behind ``push``:

- Google's OAuth token endpoint (``/token``, a service account's ``token_uri``): it checks
  the JWT bearer grant as Google does (grant type, an RS256 signature by the account's key,
  ``iss``, ``aud`` (Google's own token URL), ``scope``, ``exp``) and issues access tokens;
- FCM HTTP v1 (``/v1/projects/{project}/messages:send``): 401 ``UNAUTHENTICATED`` unless the
  ``Authorization: Bearer`` token is one it issued, not expired and not revoked; otherwise
  ``{"name": "projects/…/messages/…"}``;
- Expo's push API (``/--/api/v2/push/send`` → one ticket per message;
  ``/--/api/v2/push/getReceipts`` → the receipts set in ``receipts``).

Every request is recorded (``requests``, ``wait_for``). A test scripts other answers per route
with ``then(route, reply)`` using the builders below (``fcm_error``, ``expo_ticket_error``, …),
in the bodies those services document. ``service_account_file`` writes a throwaway key file
whose ``token_uri`` points here.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sink import LocalHttpServer, Received, Reply

PROJECT = "notifier-test"
CLIENT_EMAIL = "notifier@notifier-test.iam.gserviceaccount.com"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audience Google requires of the grant, whatever token_uri the request went to.
GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"
JSON = {"Content-Type": "application/json; charset=UTF-8"}
# Routes, as ``then`` names them.
TOKEN, FCM, EXPO_SEND, EXPO_RECEIPTS = "token", "fcm", "expo_send", "expo_receipts"


Request = Received  # what the server received, with the ``route`` it took it for


def answer(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, {**JSON, **headers}, json.dumps(body).encode())


def fcm_error(status: int, code: str, message: str, *, canonical: str = "", **headers: str) -> Reply:
    """FCM HTTP v1's error body: a google.rpc.Status with an ``FcmError`` detail."""
    canonical = canonical or {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}.get(
        status, "UNAVAILABLE" if status == 503 else "INTERNAL"
    )
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
    return answer(status, {"error": {"code": status, "message": message, "status": canonical, "details": details}})


def expo_ticket_error(code: str, message: str) -> Reply:
    """Expo's answer to a message it refused: HTTP 200, a ticket with ``status: error``."""
    return answer(200, {"data": [{"status": "error", "message": message, "details": {"error": code}}]})


def expo_request_error(status: int, code: str, message: str, **headers: str) -> Reply:
    """Expo's answer to a request it refused as a whole: ``{"errors": [{"code", "message"}]}``."""
    return answer(status, {"errors": [{"code": code, "message": message}]}, **headers)


def service_account_file(directory: Path, token_uri: str, *, project_id: str = PROJECT) -> tuple[Path, Any]:
    """A service-account key file with a fresh RSA key; returns its path and the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    account = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem.decode(),
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(account))
    return path, key.public_key()


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class PushServices(LocalHttpServer):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self.public_key: Any = None  # the service account's, set by ``account``
        self.token_lifetime = 3600  # expires_in of the access tokens it issues
        self.issued: dict[str, float] = {}  # access token → when it expires
        self.revoked: set[str] = set()
        self.receipts: dict[str, dict[str, Any]] = {}  # ticket id → receipt, for getReceipts
        self.tickets: dict[str, dict[str, Any]] = {}  # ticket id → the message Expo took
        self._ids = itertools.count(1)

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def account(self, directory: Path, *, project_id: str = PROJECT) -> Path:
        """Write a service-account file whose token_uri is this server's; its key is the one checked."""
        path, self.public_key = service_account_file(directory, self.token_uri, project_id=project_id)
        return path

    def then(self, route: str, *replies: Reply) -> Self:
        with self._cond:
            self.scripts[route].extend(replies)
        return self

    def received(self, route: str) -> list[Request]:
        with self._cond:
            return [r for r in self.requests if r.route == route]

    def wait_for(self, route: str, count: int, timeout: float = 30.0) -> list[Request]:
        try:
            return super().wait_for(count, timeout, where=lambda r: r.route == route)
        except AssertionError as late:
            raise AssertionError(f"{route}: {late}") from None

    def reply_to(self, request: Request) -> Reply:
        path, headers, body = request.path, request.headers, request.body
        request.route = route = self._route(path)
        scripted = self.scripts[route].popleft() if self.scripts[route] else None
        if route == TOKEN:
            return self._token(request) if scripted is None else scripted
        if route == FCM:
            return self._fcm(path, headers, body, scripted)
        if route == EXPO_SEND:
            return scripted or self._expo_send(body)
        if route == EXPO_RECEIPTS:
            return scripted or self._expo_receipts(body)
        return answer(404, {"error": "not found"})

    @staticmethod
    def _route(path: str) -> str:
        if path == "/token":
            return TOKEN
        if path.startswith("/v1/projects/") and path.endswith("/messages:send"):
            return FCM
        return {"/--/api/v2/push/send": EXPO_SEND, "/--/api/v2/push/getReceipts": EXPO_RECEIPTS}.get(path, "")

    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != JWT_GRANT:
            return answer(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        try:
            header, claims, signature = form["assertion"].split(".")
            self.public_key.verify(
                _b64decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_b64decode(claims))
        except (KeyError, ValueError, InvalidSignature):
            return answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if (
            json.loads(_b64decode(header)).get("alg") != "RS256"
            or claims.get("iss") != CLIENT_EMAIL
            or claims.get("aud") != GOOGLE_TOKEN_AUD
            or FCM_SCOPE not in str(claims.get("scope", "")).split()
            or not claims.get("exp", 0) > time.time()
        ):
            return answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT: claims refused."})
        token = f"ya29.fake-{next(self._ids)}-{uuid.uuid4().hex}"
        self.issued[token] = time.time() + self.token_lifetime
        return answer(200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _fcm(self, path: str, headers: dict[str, str], body: bytes, scripted: Reply | None) -> Reply:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked or self.issued[token] < time.time():
            return answer(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        if scripted is not None:
            return scripted
        message = json.loads(body).get("message", {})
        if not isinstance(message.get("token"), str):
            return fcm_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        project = path.split("/")[3]
        return answer(200, {"name": f"projects/{project}/messages/0:{next(self._ids)}%31bd1c9631bd1c96"})

    def _expo_send(self, body: bytes) -> Reply:
        messages = json.loads(body)
        messages = messages if isinstance(messages, list) else [messages]
        tickets = []
        for message in messages:
            ticket = str(uuid.uuid4())
            self.tickets[ticket] = message
            tickets.append({"status": "ok", "id": ticket})
        return answer(200, {"data": tickets})

    def _expo_receipts(self, body: bytes) -> Reply:
        ids = json.loads(body).get("ids", [])
        return answer(200, {"data": {i: self.receipts[i] for i in ids if i in self.receipts}})


@pytest.fixture
def push(settings, tmp_path) -> Iterator[PushServices]:
    """FCM (with its token endpoint) and Expo answering from one local server, and the
    settings pointing the push provider at it."""
    from notifier import registry

    server = PushServices().start()
    settings.FCM_CREDENTIALS = str(server.account(tmp_path))
    settings.FCM_API_URL = settings.EXPO_API_URL = server.url
    registry.reset()
    yield server
    server.stop()
