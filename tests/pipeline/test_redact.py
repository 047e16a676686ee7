"""Secrets never survive a Redactor: settings' values, credential shapes, secret-named keys."""

from __future__ import annotations

import base64

import pytest

from pipeline.redact import REDACTED, Redactor
from pipeline.settings import Settings


@pytest.mark.parametrize(("text", "secret"), [
    ("GET /v1 Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"),
    ("headers={'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "dXNlcjpwYXNzd29yZA=="),
    ("retrying with bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("openai said: Incorrect API key provided: sk-proj-AbCdEf0123456789xyzXYZ",
     "sk-proj-AbCdEf0123456789xyzXYZ"),
    ("https://generativelanguage.googleapis.com/v1beta?key=AIzaSyA1234567890abcdefghijklmnopqrstu",
     "AIzaSyA1234567890abcdefghijklmnopqrstu"),
    ("login failed: user=bob&password=hunter2&next=/", "hunter2"),
    ('{"user": "bob", "password": "correct horse battery"}', "correct horse battery"),
    ("{'db_password': 'it\\'s a secret'}", "a secret"),
    ("DB_PASSWORD: swordfish", "swordfish"),
    ("BRIDGE_TOKEN: hunter", "hunter"),
    ("db_password: hunter two", "hunter"),
    ("x-goog-api-key: plain-looking-value", "plain-looking-value"),
    ("client_secret=cs_live_42 rest", "cs_live_42"),
    ("connect redis://:redispass@10.0.0.5:6379/0 refused", "redispass"),
    ("POST https://admin:pa55word@example.com/wp-json/wp/v2/tags", "pa55word"),
])
def test_credential_shapes_are_redacted(text: str, secret: str) -> None:
    scrubbed = Redactor().text(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize("text", [
    "token must be 1-64 characters of A-Z a-z 0-9 _ . : -, got 'bad token!'",
    "post 42 does not exist on https://example.com/wp-json",
    "서울 맛집 태그 5개를 제안했습니다",
    "RuntimeError: Retries exceeded for message 'abc'",
    "skipping basic checks",
    # The bridge's 401 text names the setting, then the user, in words.
    "check BRIDGE_TOKEN: user 'admin' must exist and the password must be one of its "
    "Application Passwords",
    "OPENAI_API_KEY: wrong key for this project",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().text(text) == text


def test_every_secret_in_settings_is_replaced_in_every_form_it_travels_in() -> None:
    settings = Settings.from_env({
        "REDIS_URL": "redis://:rpass-123@127.0.0.1:6379/0",
        "GEMINI_API_KEY": "gem-plain-value-7",
        "BRIDGE_BASE": "https://example.com/wp-json",
        "BRIDGE_TOKEN": "editor:abcd efgh ijkl mnop",
    })
    redactor = Redactor(settings.secrets())
    basic = base64.b64encode(b"editor:abcd efgh ijkl mnop").decode()
    leaks = ["gem-plain-value-7", "abcd efgh ijkl mnop", "abcdefghijklmnop", basic, "rpass-123"]
    text = " | ".join(f"value {leak} end" for leak in leaks)
    scrubbed = redactor.text(text)
    for leak in leaks:
        assert leak not in scrubbed
    assert scrubbed.count(REDACTED) == len(leaks)


def test_records_are_scrubbed_recursively_and_secret_named_keys_hidden() -> None:
    redactor = Redactor(["exact-secret-1"])
    record = {
        "kwargs": {"api_key": "looks-harmless", "post_id": 42,
                   "notes": [{"text": "uses exact-secret-1"}, ("sk-abcdefghijklmnopqrstuv",)]},
        "password": "pw",
        "title": "서울 맛집",
    }
    scrubbed = redactor.redact(record)
    assert scrubbed == {
        "kwargs": {"api_key": REDACTED, "post_id": 42,
                   "notes": [{"text": f"uses {REDACTED}"}, [REDACTED]]},
        "password": REDACTED,
        "title": "서울 맛집",
    }
    assert record["password"] == "pw"  # the caller's record is not modified
