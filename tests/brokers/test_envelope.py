"""The envelope guard refuses every class of malformed body, with its reason."""

from __future__ import annotations

import pytest

from brokers.envelope import REASONS, Refusal, check, shown
from tests.envelope_corpus import cases, good_body

QUEUE = "misc"
ACTORS = {"ping_misc"}


@pytest.mark.parametrize("case", cases(QUEUE), ids=lambda c: c.name)
def test_each_corpus_body_is_refused_with_its_reason(case) -> None:  # type: ignore[no-untyped-def]
    refused = check(case.body, QUEUE, case.redis_id, 256 * 1024, ACTORS)
    assert isinstance(refused, Refusal), refused
    assert refused.reason == case.reason, refused
    assert refused.reason in REASONS
    assert len(refused.detail) < 300 and refused.detail.isprintable()


def test_the_corpus_covers_every_reason() -> None:
    assert {c.reason for c in cases(QUEUE)} == set(REASONS)


def test_a_good_body_decodes_to_its_message() -> None:
    rid, body = good_body(QUEUE, "ok")
    message = check(body, QUEUE, rid, 256 * 1024, ACTORS)
    assert not isinstance(message, Refusal)
    assert message.kwargs == {"token": "ok"} and message.options["redis_message_id"] == rid


def test_shown_escapes_control_bidi_and_bounds() -> None:
    text = shown("a\nb\x00c\u202ed" + "x" * 500)
    assert "\n" not in text and "\x00" not in text and "\u202e" not in text
    assert text.startswith("a\\x0ab\\x00c\\u202ed") and len(text) <= 121
