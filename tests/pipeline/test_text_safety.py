"""Text safe for a log line: unsafe characters escaped, values bounded."""

from __future__ import annotations

import logging
import sys
import unicodedata

from pipeline.log_redaction import LINE_MAX, VALUE_MAX, RedactingFilter
from pipeline.redact import Redactor
from pipeline.text import UNSAFE_CHARS, escape_unsafe, quote_value


def test_the_unsafe_class_is_every_control_format_and_separator_character() -> None:
    expected = {chr(c) for c in range(sys.maxunicode + 1)
                if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp")}
    found = {chr(c) for c in range(sys.maxunicode + 1) if UNSAFE_CHARS.match(chr(c))}
    assert found == expected


def test_escapes_look_like_python_escapes_and_korean_stays() -> None:
    assert escape_unsafe("a\nb\x00c\u202ed\U000e0041 한국어") == \
        "a\\nb\\x00c\\u202ed\\U000e0041 한국어"
    assert len(quote_value("x" * 10_000, 50)) <= 50 and "..." in quote_value("x" * 10_000, 50)


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, None)


def test_the_filter_bounds_each_argument_and_the_line_and_escapes_them() -> None:
    rec = record("Message %s failed: %r (%d)", "a\n[WARNING] forged" + "A" * 10_000,
                 {"k\u202e": "\x00"}, 7)
    RedactingFilter(Redactor(["s3cret-value"])).filter(rec)
    text = rec.getMessage()
    assert "\n" not in text and "\x00" not in text and "\u202e" not in text
    assert "\\n[WARNING] forged" in text and text.endswith("(7)")
    assert len(text) < 2 * VALUE_MAX + 100


def test_an_argument_whose_str_fails_is_shown_by_its_repr() -> None:
    class Broken:
        def __str__(self) -> str:
            raise AttributeError("'list' object has no attribute 'items'")

        def __repr__(self) -> str:
            return "<Broken kwargs=[1]>"

    rec = record("Message %s was skipped.", Broken())
    RedactingFilter(Redactor()).filter(rec)
    assert rec.getMessage() == "Message <Broken kwargs=[1]> was skipped."


def test_a_traceback_is_indented_escaped_and_bounded() -> None:
    try:
        raise TypeError("bad key 'x\n[WARNING] forged\u202e'")
    except TypeError:
        rec = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactingFilter(Redactor()).filter(rec)
    assert rec.exc_text is not None
    assert all(line.startswith("  ") for line in rec.exc_text.split("\n"))
    assert "\u202e" not in rec.exc_text
    long = record("%s", "B" * 100_000)
    RedactingFilter(Redactor()).filter(long)
    assert len(long.getMessage()) <= LINE_MAX + 40


def test_the_doclog_writes_unsafe_characters_as_json_escapes_and_reads_them_back() -> None:
    import json

    from pipeline.doclog.render import render_line

    value = {"k\u2028ey": "a\x7fb\u202ec\x00d\U000e0041 한국어 \u200d"}
    line = render_line({"kwargs": value})
    for raw in ("\x7f", "\u202e", "\u2028", "\U000e0041", "\u200d", "\x00"):
        assert raw.encode() not in line
    assert b"\\u202e" in line and b"\\udb40\\udc41" in line and "한국어".encode() in line
    assert json.loads(line)["kwargs"] == value
