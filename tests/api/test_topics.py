"""/api/v1/topics/: put, subscribe, unsubscribe, get, list, delete; counts, limits, scope."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Recipient, Topic, TopicMember
from notifications.services import topics as topics_module

URL = "/api/v1/topics/"


def members(key: str) -> list[str]:
    return sorted(TopicMember.objects.filter(topic__key=key).values_list("recipient_id", flat=True))


def test_put_creates_201_then_replaces_every_member_200(alice):
    response = alice.put(f"{URL}news/", {"recipients": ["b", "a", "a"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"key": "news", "count": 2}
    response = alice.put(f"{URL}news/", {"recipients": ["c"]}, format="json")
    assert (response.status_code, response.json()) == (200, {"key": "news", "count": 1})
    assert members("news") == ["c"]
    assert alice.put(f"{URL}news/", {"recipients": []}, format="json").json() == {"key": "news", "count": 0}


def test_subscribe_creates_the_topic_and_ignores_ids_already_in_it(alice):
    response = alice.post(f"{URL}news/subscribe/", {"recipients": ["a", "b"]}, format="json")
    assert (response.status_code, response.json()) == (200, {"key": "news", "count": 2})
    response = alice.post(f"{URL}news/subscribe/", {"recipients": ["b", "c", "c"]}, format="json")
    assert (response.status_code, response.json()) == (200, {"key": "news", "count": 3})
    assert members("news") == ["a", "b", "c"]


def test_unsubscribe_removes_members_and_ignores_strangers(alice):
    alice.put(f"{URL}news/", {"recipients": ["a", "b", "c"]}, format="json")
    response = alice.post(f"{URL}news/unsubscribe/", {"recipients": ["a", "zz"]}, format="json")
    assert (response.status_code, response.json()) == (200, {"key": "news", "count": 2})
    assert members("news") == ["b", "c"]
    assert alice.post(f"{URL}nope/unsubscribe/", {"recipients": ["a"]}, format="json").status_code == 404


def test_get_list_and_delete(alice):
    alice.put(f"{URL}one/", {"recipients": ["a"]}, format="json")
    alice.put(f"{URL}two/", {"recipients": ["a", "b"]}, format="json")
    assert alice.get(f"{URL}two/").json() == {"key": "two", "count": 2}
    page = alice.get(URL, {"page_size": 1}).json()
    assert page["results"] == [{"key": "two", "count": 2}]
    assert alice.get(page["next"]).json()["results"] == [{"key": "one", "count": 1}]
    assert alice.delete(f"{URL}two/").status_code == 204
    assert alice.get(f"{URL}two/").status_code == 404
    assert alice.delete(f"{URL}two/").status_code == 404
    assert not TopicMember.objects.filter(topic__key="two").exists()


def test_another_clients_topic_is_404_and_the_same_key_is_bobs_own(alice, bob):
    alice.put(f"{URL}news/", {"recipients": ["a"]}, format="json")
    assert bob.get(f"{URL}news/").status_code == 404
    assert bob.delete(f"{URL}news/").status_code == 404
    assert bob.post(f"{URL}news/unsubscribe/", {"recipients": ["a"]}, format="json").status_code == 404
    assert bob.get(URL).json()["results"] == []
    assert bob.post(f"{URL}news/subscribe/", {"recipients": ["x", "y"]}, format="json").json()["count"] == 2
    assert alice.get(f"{URL}news/").json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "recipients"),
        ({"recipients": "a"}, "recipients"),
        ({"recipients": [""]}, "recipients"),
        ({"recipients": ["x" * 256]}, "recipients"),
        ({"recipients": [None]}, "recipients"),
        ({"recipients": [f"id-{n}" for n in range(10_001)]}, "recipients"),
    ],
    ids=["missing", "not-a-list", "empty-id", "id-too-long", "null-id", "over-10000"],
)
def test_bad_member_lists_are_400_and_change_nothing(alice, body, field):
    for method, path in (("put", f"{URL}news/"), ("post", f"{URL}news/subscribe/")):
        response = getattr(alice, method)(path, body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()
    assert not Topic.objects.exists()


def test_subscribe_and_unsubscribe_need_at_least_one_id(alice):
    response = alice.post(f"{URL}news/subscribe/", {"recipients": []}, format="json")
    assert response.status_code == 400 and "recipients" in response.json()


@pytest.mark.parametrize("key", ["not a slug", "dots.in.it", "k" * 65])
def test_a_key_that_is_not_a_slug_up_to_64_is_400_on_put_and_subscribe(alice, key):
    assert alice.put(f"{URL}{key}/", {"recipients": ["a"]}, format="json").status_code == 400
    assert alice.post(f"{URL}{key}/subscribe/", {"recipients": ["a"]}, format="json").status_code == 400
    assert alice.get(f"{URL}{key}/").status_code == 404


def test_a_topic_over_its_limit_is_400_naming_it_and_nothing_changes(alice, monkeypatch):
    monkeypatch.setattr(topics_module, "TOPIC_MAX", 3)
    alice.put(f"{URL}news/", {"recipients": ["a", "b"]}, format="json")
    response = alice.post(f"{URL}news/subscribe/", {"recipients": ["c", "d"]}, format="json")
    assert response.status_code == 400
    assert "at most 3" in response.json()["recipients"][0]
    assert members("news") == ["a", "b"] and Topic.objects.get().count == 2
    assert alice.put(f"{URL}news/", {"recipients": ["w", "x", "y", "z"]}, format="json").status_code == 400
    assert members("news") == ["a", "b"]
    assert alice.post(f"{URL}other/subscribe/", {"recipients": ["w", "x", "y", "z"]}, format="json").status_code == 400
    assert not Topic.objects.filter(key="other").exists()


def test_a_topic_holds_a_million_and_refuses_one_more(alice):
    # Filled through the service a request's worth at a time, as 100 subscribes would.
    for start in range(0, 1_000_000, 10_000):
        ids = [f"member-{n:07d}" for n in range(start, start + 10_000)]
        services.topic_subscribe(owner=alice.user, key="everyone", recipient_ids=ids)

    assert alice.get(f"{URL}everyone/").json() == {"key": "everyone", "count": 1_000_000}
    refused = alice.post(f"{URL}everyone/subscribe/", {"recipients": ["one-more"]}, format="json")
    assert refused.status_code == 400
    assert "at most 1,000,000" in refused.json()["recipients"][0]
    again = alice.post(f"{URL}everyone/subscribe/", {"recipients": ["member-0000042"]}, format="json")
    assert again.json() == {"key": "everyone", "count": 1_000_000}  # already a member: nothing added
    assert TopicMember.objects.filter(topic__key="everyone").count() == 1_000_000


def test_a_body_that_is_not_json_is_415(alice):
    response = alice.put(f"{URL}news/", "recipients=a", content_type="text/plain")
    assert response.status_code == 415
    assert alice.post(f"{URL}news/subscribe/", "x", content_type="text/plain").status_code == 415


def test_no_key_is_401(client, db):
    assert client.get(URL).status_code == 401


def test_erasing_a_recipient_takes_it_out_of_every_topic_of_that_client_only(alice, bob):
    alice.put("/api/v1/recipients/ada/", {"email": "ada@example.com"}, format="json")
    alice.put(f"{URL}one/", {"recipients": ["ada", "bob"]}, format="json")
    alice.put(f"{URL}two/", {"recipients": ["ada"]}, format="json")
    bob.put(f"{URL}one/", {"recipients": ["ada"]}, format="json")
    assert alice.delete("/api/v1/recipients/ada/").status_code == 204
    assert alice.get(f"{URL}one/").json()["count"] == 1
    assert alice.get(f"{URL}two/").json()["count"] == 0
    assert bob.get(f"{URL}one/").json()["count"] == 1
    assert not Recipient.objects.exists()
    assert sorted(TopicMember.objects.values_list("topic__owner__username", "recipient_id")) == [
        ("alice", "bob"),
        ("bob", "ada"),
    ]
