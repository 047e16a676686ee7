"""The port of WordPress's sanitize_text_field, against what WordPress 6.1 returns.

The expected values are PHP's: ``sanitize_text_field()`` of WordPress 6.1.9
(``wp-includes/formatting.php``) on PHP 8.2, for the kinds of text an LLM
answer or an editor can hold.
"""

from __future__ import annotations

import pytest

from pipeline.wordpress.sanitize import sanitize_text_field, stored_term_name, stored_text


@pytest.mark.parametrize(("text", "expected"), [
    ("성수동 카페 7곳", "성수동 카페 7곳"),
    ("Tom & Jerry", "Tom & Jerry"),
    ("3 < 5 카페", "3 &lt; 5 카페"),
    ("x<", "x&lt;"),
    ("<", "&lt;"),
    ("it's < \"q\"", "it's &lt; &quot;q&quot;"),
    ("a < b & c", "a &lt; b &amp; c"),
    ("a &amp; < b", "a &amp; &lt; b"),
    ("a <b>bold</b> c", "a bold c"),
    ("<script>alert(1)</script>본문", "본문"),
    ("a < b > c", "a < b > c"),
    ("<a href=\"x>y\">링크</a>", "링크"),
    ("앞 <!-- 주석 --> 뒤", "앞 뒤"),
    ("  two  spaces\n\tx ", "two spaces x"),
    ("할인 %ec 쿠폰", "할인 쿠폰"),
    ("%%4141z", "z"),
    ("100% 만족", "100% 만족"),
    ("a > b", "a > b"),
], ids=lambda v: repr(v))
def test_sanitize_text_field(text: str, expected: str) -> None:
    assert sanitize_text_field(text) == expected


def test_stored_text_is_none_when_the_text_survives() -> None:
    assert stored_text("성수동 카페 추천") is None
    assert stored_text("3 < 5") == "3 &lt; 5"


def test_a_term_name_is_read_back_unescaped() -> None:
    # WordPress keeps "C&lt;3" for the tag "C<3" and the bridge unescapes it.
    assert stored_term_name("C<3") is None
    assert stored_term_name("Tom & Jerry") is None
    assert stored_term_name("<b>카페</b>") == "카페"
    assert stored_term_name("커피 %ab 원두") == "커피 원두"
