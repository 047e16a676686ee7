"""check_call: a payload fits an actor by shape, keys and types, never by coercion."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import PayloadError
from pipeline.payload import check_call


def job(post_id: int, force: bool = False, tags: list[str] | None = None,
        ratio: float = 1.0, note: str = "") -> None:
    """An actor body with one parameter of each annotated kind."""


def fits(kwargs: Any, args: Any = ()) -> bool:
    try:
        check_call(job, "job", args, kwargs)
    except PayloadError:
        return False
    return True


@pytest.mark.parametrize("kwargs", [
    {"post_id": 1}, {"post_id": 2**70}, {"post_id": 5, "force": True, "tags": ["a"]},
    {"post_id": 5, "tags": None}, {"post_id": 5, "ratio": 2}, {"post_id": 5, "ratio": 0.5},
])
def test_payloads_of_the_annotated_types_fit(kwargs: dict[str, Any]) -> None:
    # Ranges (2**70) are the actor's to check, not the signature's.
    assert fits(kwargs)


@pytest.mark.parametrize("kwargs", [
    {"post_id": "1"}, {"post_id": True}, {"post_id": 1.0}, {"post_id": None},
    {"post_id": 1, "force": 1}, {"post_id": 1, "force": "true"},
    {"post_id": 1, "tags": "a"}, {"post_id": 1, "tags": ["a", 1]},
    {"post_id": 1, "ratio": True}, {"post_id": 1, "ratio": "1"}, {"post_id": 1, "note": 1},
])
def test_no_value_is_coerced(kwargs: dict[str, Any]) -> None:
    assert not fits(kwargs)


@pytest.mark.parametrize(("kwargs", "args", "says"), [
    ([1], (), "kwargs must be a JSON object of keyword arguments, got array [1]"),
    ("x", (), "got string 'x'"),
    ({"post_id": 1, "self": 1}, (), "unexpected keyword argument 'self'"),
    ({"post_id": 1, "evil\nkey": 1}, (), "unexpected keyword argument 'evil\\nkey'"),
    ({}, (), "missing a required argument: 'post_id'"),
    ({}, (1,), "got 1 positional argument(s), args must be empty"),
    ({"post_id": 1}, "abc", "args must be an empty JSON array, got string"),
])
def test_the_error_says_what_is_wrong_and_what_the_actor_takes(
        kwargs: Any, args: Any, says: str) -> None:
    with pytest.raises(PayloadError) as caught:
        check_call(job, "job", args, kwargs)
    assert says in str(caught.value)
    if "must be" not in says or "JSON" in says:
        assert str(caught.value).endswith("it takes: post_id, force, tags, ratio, note")


def test_a_huge_or_hostile_value_is_quoted_bounded_and_escaped() -> None:
    with pytest.raises(PayloadError) as caught:
        check_call(job, "job", (), {"post_id": "\u202e" + "9" * 100_000})
    text = str(caught.value)
    assert len(text) < 200 and "\u202e" not in text and "\\u202e" in text
