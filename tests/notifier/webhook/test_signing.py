"""What a receiver gets from the webhook provider: the payload, signed, with the contract's headers."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

import notifier
from notifier import PermanentError, Receipt, TransientError
from tests.notifier.webhook.conftest import SECRET, message, new_secret
from tests.sink import Reply


def test_payload_is_posted_as_signed_json_with_the_contract_headers(provider, sink):
    msg = message(sink.url, subject="ignored", body="ignored", payload={"order": 42, "items": ["a", "ü"]})

    receipt = provider.send(msg)

    assert isinstance(receipt, Receipt)
    [received] = sink.wait_for(1)
    assert received.method == "POST"
    assert received.path == "/hook"
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == {"order": 42, "items": ["a", "ü"]}
    assert received.headers["webhook-id"] == msg.id
    assert received.headers["idempotency-key"] == msg.id
    assert received.headers["user-agent"] == f"notifier/{notifier.__version__}"
    assert 0 <= received.at - int(received.headers["webhook-timestamp"]) < 5
    assert Webhook(SECRET).verify(received.body, received.headers) == {"order": 42, "items": ["a", "ü"]}


def test_without_payload_subject_and_body_are_posted(provider, sink):
    provider.send(message(sink.url, subject="Hello", body="It is time."))

    [received] = sink.wait_for(1)
    assert Webhook(SECRET).verify(received.body, received.headers) == {"subject": "Hello", "body": "It is time."}


@pytest.mark.parametrize("payload", [{}, [1, 2], "text", 0, False])
def test_a_falsy_or_non_object_payload_is_posted_as_given(provider, sink, payload):
    provider.send(message(sink.url, subject="s", body="b", payload=payload))

    [received] = sink.wait_for(1)
    assert Webhook(SECRET).verify(received.body, received.headers) == payload


def test_every_attempt_carries_the_same_id_and_a_fresh_valid_signature(provider, sink):
    sink.then(Reply(503))
    msg = message(sink.url, payload={"n": 1})

    with pytest.raises(TransientError):
        provider.send(msg)
    provider.send(msg)

    first, second = sink.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == msg.id
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == msg.id
    for received in (first, second):
        Webhook(SECRET).verify(received.body, received.headers)


def test_another_clients_secret_does_not_verify(provider, sink):
    alice_secret, bob_secret = new_secret(), new_secret()
    provider.send(message(sink.url, payload={"for": "alice"}, signing_secrets=(alice_secret,)))

    [received] = sink.wait_for(1)
    Webhook(alice_secret).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(bob_secret).verify(received.body, received.headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies(provider, sink):
    new, old = new_secret(), new_secret()
    provider.send(message(sink.url, payload={"rotating": True}, signing_secrets=(new, old)))

    [received] = sink.wait_for(1)
    signatures = received.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    assert Webhook(new).verify(received.body, received.headers) == {"rotating": True}
    assert Webhook(old).verify(received.body, received.headers) == {"rotating": True}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(received.body, received.headers)


def test_without_a_signing_secret_nothing_is_sent(provider, sink):
    with pytest.raises(PermanentError, match="no signing secret"):
        provider.send(message(sink.url, payload={}, signing_secrets=()))
    assert sink.requests == []
