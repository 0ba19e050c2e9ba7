"""The push channel against a real local server answering as Google's token endpoint, FCM
HTTP v1 and Expo's push API: each route sent, the OAuth token fetched once and reused, and
each answer classed as those services document it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from google.auth import _helpers

from notifier import DeadToken, Message, PermanentError, Receipt, TransientError, get_provider, registry
from notifier.push import MAX_RECEIPT_IDS
from tests.fakes.push import (
    EXPO_RECEIPTS,
    EXPO_SEND,
    FCM,
    PROJECT,
    TOKEN,
    PushServices,
    answer,
    expo_request_error,
    expo_ticket_error,
    fcm_error,
)

EXPO_TOKEN = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"
FCM_TOKEN = "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1" + "a" * 100


@pytest.fixture
def services():
    server = PushServices().start()
    yield server
    server.stop()


@pytest.fixture
def push(settings, services, tmp_path):
    """The push provider with FCM configured, both services pointed at the fake."""
    settings.FCM_CREDENTIALS = str(services.account(tmp_path))
    settings.FCM_PROJECT_ID = ""
    settings.FCM_API_URL = services.url
    settings.EXPO_API_URL = services.url
    settings.EXPO_ACCESS_TOKEN = ""
    registry.reset()
    return get_provider("push")


def message(recipient: str, **fields) -> Message:
    return Message(id=str(uuid.uuid4()), recipient=recipient, subject="Order", body="Shipped.", **fields)


# --- routing and recipients ---------------------------------------------------------------


@pytest.mark.parametrize("token", [EXPO_TOKEN, "ExpoPushToken[AbC-123_xyz]"])
def test_an_expo_token_goes_to_expo(push, services, token):
    receipt = push.send(message(token, payload={"order": 7}))

    [sent] = services.received(EXPO_SEND)
    assert sent.json() == [{"to": token, "title": "Order", "body": "Shipped.", "data": {"order": 7}}]
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers
    assert receipt == Receipt(provider_message_id=next(iter(services.tickets)), provider="expo")
    assert not services.received(FCM) and not services.received(TOKEN)


def test_any_other_token_goes_to_fcm_with_string_data(push, services):
    receipt = push.send(message(FCM_TOKEN, payload={"order": 7, "tag": "x", "items": [1, 2], "none": None}))

    [sent] = services.received(FCM)
    assert sent.path == f"/v1/projects/{PROJECT}/messages:send"
    assert sent.json() == {
        "message": {
            "token": FCM_TOKEN,
            "notification": {"title": "Order", "body": "Shipped."},
            "data": {"order": "7", "tag": "x", "items": "[1, 2]", "none": "null"},
        }
    }
    [issued] = services.issued
    assert sent.headers["authorization"] == f"Bearer {issued}"
    assert receipt.provider == "fcm"
    assert receipt.provider_message_id.startswith(f"projects/{PROJECT}/messages/0:")
    assert not services.received(EXPO_SEND)


def test_expo_sends_the_access_token_when_one_is_set(settings, push, services):
    settings.EXPO_ACCESS_TOKEN = "expo-secret-access-token"
    registry.reset()

    get_provider("push").send(message(EXPO_TOKEN))

    assert services.received(EXPO_SEND)[0].headers["authorization"] == "Bearer expo-secret-access-token"


def test_fcm_project_id_setting_wins_over_the_files(settings, push, services):
    settings.FCM_PROJECT_ID = "other-project"
    registry.reset()

    get_provider("push").send(message(FCM_TOKEN))

    assert services.received(FCM)[0].path == "/v1/projects/other-project/messages:send"


@pytest.mark.parametrize(
    "recipient",
    ["", "ExponentPushToken[]", "ExponentPushToken[a b]", "ExpoPushToken[abc", "short", "has space " + "a" * 40],
)
def test_a_token_of_no_known_shape_is_refused(push, recipient):
    with pytest.raises(ValueError, match="push token"):
        push.validate_recipient(recipient)


def test_a_token_longer_than_the_dead_token_column_is_refused(push):
    with pytest.raises(ValueError, match="512"):
        push.validate_recipient("a" * 513)
    assert push.validate_recipient("a" * 512) == "a" * 512


def test_without_fcm_push_is_still_offered_for_expo_and_an_fcm_token_is_refused_naming_the_setting(settings):
    settings.FCM_CREDENTIALS = ""
    registry.reset()
    push = get_provider("push")

    assert push.validate_recipient(f" {EXPO_TOKEN} ") == EXPO_TOKEN
    with pytest.raises(ValueError, match="FCM_CREDENTIALS"):
        push.validate_recipient(FCM_TOKEN)
    with pytest.raises(PermanentError, match="FCM_CREDENTIALS"):
        push.send(message(FCM_TOKEN))


def test_content_over_4_kb_is_refused_at_create(push):
    with pytest.raises(ValueError, match="4,096 bytes") as refused:
        push.validate_content(subject="s", body="b", payload={"blob": "x" * 5000})
    assert refused.value.args[1] == "payload"


# --- FCM's OAuth token ---------------------------------------------------------------------


def test_the_access_token_is_fetched_once_with_a_signed_jwt_and_reused(push, services):
    for _ in range(3):
        push.send(message(FCM_TOKEN))

    [fetch] = services.received(TOKEN)
    assert fetch.form()["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert len(services.issued) == 1
    assert {r.headers["authorization"] for r in services.received(FCM)} == {f"Bearer {t}" for t in services.issued}


def test_a_token_near_its_expiry_is_fetched_again(push, services):
    # google-auth refreshes a token this close to its expiry: one second after it is issued.
    services.token_lifetime = int(_helpers.REFRESH_THRESHOLD.total_seconds()) + 1
    push.send(message(FCM_TOKEN))
    time.sleep(1.1)

    push.send(message(FCM_TOKEN))

    assert len(services.received(TOKEN)) == 2
    first, second = services.received(FCM)
    assert first.headers["authorization"] != second.headers["authorization"]


def test_a_401_fetches_a_new_token_and_sends_again_within_the_same_call(push, services):
    push.send(message(FCM_TOKEN))
    services.revoked.update(services.issued)  # revoked early, still fresh by its expiry

    receipt = push.send(message(FCM_TOKEN))

    assert receipt.provider == "fcm"
    assert len(services.received(TOKEN)) == 2
    assert [r.headers["authorization"] != "" for r in services.received(FCM)] == [True, True, True]


def test_a_second_401_is_permanent(push, services):
    services.then(FCM, fcm_error(401, "THIRD_PARTY_AUTH_ERROR", "Auth error", canonical="UNAUTHENTICATED"))
    services.then(FCM, fcm_error(401, "THIRD_PARTY_AUTH_ERROR", "Auth error", canonical="UNAUTHENTICATED"))

    with pytest.raises(PermanentError, match="fcm: HTTP 401"):
        push.send(message(FCM_TOKEN))
    assert len(services.received(FCM)) == 2


def test_a_token_endpoint_refusal_is_permanent_and_names_no_secret(push, services):
    services.then(TOKEN, answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}))

    with pytest.raises(PermanentError, match="invalid_grant") as refused:
        push.send(message(FCM_TOKEN))

    assert refused.value.provider == "fcm"
    assert "PRIVATE KEY" not in str(refused.value) and "assertion" not in str(refused.value)
    assert not services.received(FCM)


def test_an_unreachable_token_endpoint_is_transient(push, services):
    services.stop()

    with pytest.raises(TransientError, match="OAuth token endpoint"):
        push.send(message(FCM_TOKEN))


# --- FCM's answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        fcm_error(404, "UNREGISTERED", "Requested entity was not found."),
        fcm_error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"),
        answer(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "Request contains an invalid argument.",
                    "status": "INVALID_ARGUMENT",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "INVALID_ARGUMENT",
                        },
                        {
                            "@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [
                                {"field": "message.token", "description": "Invalid registration token"}
                            ],
                        },
                    ],
                }
            },
        ),
    ],
    ids=["unregistered", "invalid-token-message", "invalid-token-field"],
)
def test_a_dead_fcm_token_raises_dead_token(push, services, reply):
    services.then(FCM, reply)

    with pytest.raises(DeadToken) as dead:
        push.send(message(FCM_TOKEN))

    assert (dead.value.token, dead.value.provider) == (FCM_TOKEN, "fcm")


@pytest.mark.parametrize(
    "reply",
    [
        fcm_error(400, "INVALID_ARGUMENT", 'Invalid JSON payload received. Unknown name "colour"'),
        fcm_error(403, "SENDER_ID_MISMATCH", "SenderId mismatch", canonical="PERMISSION_DENIED"),
        answer(404, {"error": {"code": 404, "message": "Project not found.", "status": "NOT_FOUND"}}),
    ],
    ids=["invalid-payload", "sender-mismatch", "no-project"],
)
def test_other_fcm_4xx_are_permanent_and_not_dead_tokens(push, services, reply):
    services.then(FCM, reply)

    with pytest.raises(PermanentError) as refused:
        push.send(message(FCM_TOKEN))

    assert not isinstance(refused.value, DeadToken)
    assert refused.value.provider == "fcm"


@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (fcm_error(429, "QUOTA_EXCEEDED", "Quota exceeded.", **{"Retry-After": "30"}), 30.0),
        (fcm_error(503, "UNAVAILABLE", "The service is currently unavailable."), None),
        (fcm_error(500, "INTERNAL", "Internal error encountered."), None),
    ],
)
def test_fcm_429_and_5xx_are_transient_with_retry_after(push, services, reply, retry_after):
    reply.headers.update({"Retry-After": str(int(retry_after))} if retry_after else {})
    services.then(FCM, reply)

    with pytest.raises(TransientError) as later:
        push.send(message(FCM_TOKEN))

    assert later.value.retry_after == retry_after
    assert later.value.provider == "fcm"


# --- Expo's answers ------------------------------------------------------------------------


def test_device_not_registered_raises_dead_token(push, services):
    services.then(
        EXPO_SEND,
        expo_ticket_error("DeviceNotRegistered", f'"{EXPO_TOKEN}" is not a registered push notification recipient'),
    )

    with pytest.raises(DeadToken) as dead:
        push.send(message(EXPO_TOKEN))

    assert (dead.value.token, dead.value.provider) == (EXPO_TOKEN, "expo")


@pytest.mark.parametrize("code", ["MessageTooBig", "InvalidCredentials", "MismatchSenderId"])
def test_other_ticket_errors_are_permanent(push, services, code):
    services.then(EXPO_SEND, expo_ticket_error(code, "refused"))

    with pytest.raises(PermanentError, match=f"expo: {code}") as refused:
        push.send(message(EXPO_TOKEN))

    assert not isinstance(refused.value, DeadToken)


def test_message_rate_exceeded_is_transient(push, services):
    services.then(EXPO_SEND, expo_ticket_error("MessageRateExceeded", "Too many messages to this device."))

    with pytest.raises(TransientError, match="MessageRateExceeded"):
        push.send(message(EXPO_TOKEN))


@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (expo_request_error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded.", **{"Retry-After": "5"}), 5.0),
        (expo_request_error(503, "INTERNAL_SERVER_ERROR", "Try again later."), None),
        (answer(502, "<html>Bad gateway</html>"), None),
    ],
)
def test_expo_429_and_5xx_are_transient(push, services, reply, retry_after):
    services.then(EXPO_SEND, reply)

    with pytest.raises(TransientError) as later:
        push.send(message(EXPO_TOKEN))

    assert later.value.retry_after == retry_after


def test_an_expo_request_refusal_is_permanent_and_names_its_code(push, services):
    services.then(EXPO_SEND, expo_request_error(400, "PUSH_TOO_MANY_EXPERIENCE_IDS", "Mixed projects."))

    with pytest.raises(PermanentError, match="PUSH_TOO_MANY_EXPERIENCE_IDS"):
        push.send(message(EXPO_TOKEN))


# --- Expo's receipts -----------------------------------------------------------------------


def test_receipts_are_asked_for_by_ticket_id(push, services):
    services.receipts = {"a": {"status": "ok"}, "b": {"status": "error", "details": {"error": "MessageTooBig"}}}

    found = push.expo.receipts(["a", "b", "c"])

    assert found == services.receipts
    assert services.received(EXPO_RECEIPTS)[0].json() == {"ids": ["a", "b", "c"]}
    with pytest.raises(ValueError, match="1000"):
        push.expo.receipts(["x"] * (MAX_RECEIPT_IDS + 1))


def test_a_failing_receipts_call_is_transient(push, services):
    services.then(EXPO_RECEIPTS, expo_request_error(503, "INTERNAL_SERVER_ERROR", "Try again later."))

    with pytest.raises(TransientError):
        push.expo.receipts(["a"])


# --- settings ------------------------------------------------------------------------------


def test_usable_push_settings_pass(push):
    registry.check_settings()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "cannot be read"),
        ("not json", "is not JSON"),
        (json.dumps({"type": "authorized_user", "client_email": "x"}), "not a service-account key file"),
    ],
)
def test_an_unusable_credentials_file_stops_the_process_without_echoing_it(settings, tmp_path, content, match):
    path = tmp_path / "account.json"
    if content is not None:
        path.write_text(content)
    settings.FCM_CREDENTIALS = str(path)

    with pytest.raises(ImproperlyConfigured, match=rf"^FCM_CREDENTIALS: .*{match}") as stopped:
        registry.check_settings()
    assert "authorized_user" not in str(stopped.value)


def test_a_key_that_does_not_load_stops_the_process(settings, push, tmp_path):
    account = json.loads(Path(settings.FCM_CREDENTIALS).read_text())
    account["private_key"] = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    (tmp_path / "bad.json").write_text(json.dumps(account))
    settings.FCM_CREDENTIALS = str(tmp_path / "bad.json")

    with pytest.raises(ImproperlyConfigured, match=r"^FCM_CREDENTIALS: the private key") as stopped:
        registry.check_settings()
    assert "bm90IGEga2V5" not in str(stopped.value)


def test_no_project_anywhere_stops_the_process(settings, push, tmp_path, services):
    settings.FCM_CREDENTIALS = str(services.account(tmp_path, project_id=""))

    with pytest.raises(ImproperlyConfigured, match=r"^FCM_PROJECT_ID: "):
        registry.check_settings()


@pytest.mark.parametrize("name", ["FCM_API_URL", "EXPO_API_URL"])
def test_a_base_url_that_cannot_work_stops_the_process(settings, name):
    setattr(settings, name, "ftp://push.example.com")

    with pytest.raises(ImproperlyConfigured, match=f"^{name}: "):
        registry.check_settings()


def test_each_push_service_has_its_own_breaker_and_rate():
    from notifier.push import ExpoClient, PushProvider

    provider = PushProvider(expo=ExpoClient(base_url="http://127.0.0.1:9"))
    expo = provider.gate_keys(Message(id="1", recipient="ExponentPushToken[abc]"))
    fcm = provider.gate_keys(Message(id="2", recipient="f" * 152))
    assert (expo.breaker, expo.rate) == ("provider:expo", "expo")
    assert (fcm.breaker, fcm.rate) == ("provider:fcm", "fcm")
