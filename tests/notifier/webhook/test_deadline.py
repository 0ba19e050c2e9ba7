"""WEBHOOK_TIMEOUT bounds a whole call, connect + send + read together, against real
hostile receivers on loopback. Each would hold a worker far longer under per-phase,
per-read timeouts; here each send returns within the timeout plus slack (bounded
generously: the machine is shared)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from notifier import TransientError
from tests.notifier.webhook.conftest import message
from tests.notifier.webhook.servers import silent_server, slow_reader, syn_dropping_port, trickle_server
from tests.sink import Reply

TIMEOUT = 1.0
LIMIT = 3.0  # what a 1 s deadline may take here; each receiver would hold the call for 20 s or more


def timed_send(provider, url: str, **fields) -> tuple[TransientError, float]:
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        provider.send(message(url, **fields))
    return caught.value, time.monotonic() - started


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline(make_provider):
    with trickle_server(every=0.2, for_seconds=20) as url:  # each byte well inside a 1 s read timeout
        error, took = timed_send(make_provider(timeout=TIMEOUT), url, payload={})

    assert "timeout" in str(error)
    assert took < LIMIT


def test_a_receiver_reading_the_request_slowly_is_cut_off_at_the_deadline(make_provider):
    # ~3 MB/s: each socket write makes progress well inside 1 s; the whole body takes ~10 s.
    with slow_reader(chunk=65536, every=0.02, for_seconds=20) as url:
        error, took = timed_send(make_provider(timeout=TIMEOUT), url, payload={"big": "x" * 30_000_000})

    assert "timeout" in str(error)
    assert took < LIMIT


def test_a_receiver_that_accepts_and_never_answers_is_cut_off(make_provider):
    with silent_server() as url:
        error, took = timed_send(make_provider(timeout=TIMEOUT), url, payload={})

    assert "timeout" in str(error)
    assert took < LIMIT


def test_a_dropped_syn_is_cut_off(make_provider):
    with syn_dropping_port() as port:
        error, took = timed_send(make_provider(timeout=TIMEOUT), f"http://127.0.0.1:{port}/hook", payload={})

    assert "timeout" in str(error)
    assert took < LIMIT


def test_a_name_whose_lookup_hangs_is_cut_off(make_provider, monkeypatch):
    # DNS lies outside this machine: a resolver that never answers stands in for it.
    released = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def hanging_getaddrinfo(host, *args, **kwargs):
        if host != "slow-dns.example":
            return real_getaddrinfo(host, *args, **kwargs)
        released.wait(20)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    try:
        error, took = timed_send(
            make_provider(timeout=TIMEOUT, allow_private=False), "https://slow-dns.example/hook", payload={}
        )
    finally:
        released.set()

    assert "timeout" in str(error)
    assert took < LIMIT


def test_each_call_has_its_own_deadline_on_a_reused_connection(make_provider, sink):
    provider = make_provider(timeout=TIMEOUT)
    sink.then(*[Reply(200, delay=0.4)] * 4)  # 1.6 s on one connection, 0.4 s a call

    for _ in range(4):
        provider.send(message(sink.url, payload={}))

    assert len({request.client_port for request in sink.requests}) == 1
