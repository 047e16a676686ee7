"""Settings: defaults, one clear error per bad variable, env files, secrets kept out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import (
    VARIABLES,
    Settings,
    load_doclog_location,
    load_env_file,
    load_settings,
    redact_url,
)
from pipeline.settings_parsers import PARSERS

MINIMAL = {"REDIS_URL": "redis://127.0.0.1:6379/0"}


def settings_error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    return str(info.value)


def test_minimal_environment_gives_documented_defaults() -> None:
    settings = Settings.from_env(MINIMAL)
    assert settings.doclog_root == Path("docs/logs")
    assert settings.doclog_rotate_days == 30
    assert settings.tz == "Asia/Seoul"
    assert settings.zone.key == "Asia/Seoul"
    assert settings.llm_provider == "offline"
    assert settings.bridge_base is None
    assert settings.worker1_processes is None


def test_every_variable_has_a_parser_and_a_field() -> None:
    assert {v.name for v in VARIABLES} == set(PARSERS)
    assert [v.field for v in VARIABLES] == [f.name for f in dataclasses.fields(Settings)]


def test_missing_redis_url_names_the_variable_and_an_example() -> None:
    message = settings_error({})
    assert "REDIS_URL is required" in message
    assert "redis://" in message


@pytest.mark.parametrize(("value", "expected"), [
    ("http://127.0.0.1:6379", "expected redis://host:port/db"),
    ("redis://", "expected a host"),
    ("redis://127.0.0.1:notaport/0", "port must be a number"),
])
def test_bad_redis_url_is_explained(value: str, expected: str) -> None:
    message = settings_error({"REDIS_URL": value})
    assert "REDIS_URL=" in message
    assert expected in message


def test_invalid_number_names_variable_and_range() -> None:
    message = settings_error({**MINIMAL, "ATR_DOCLOG_ROTATE_DAYS": "thirty"})
    assert message == ("invalid settings: ATR_DOCLOG_ROTATE_DAYS='thirty' is invalid: "
                       "expected a whole number of days from 1 to 3650")


def test_every_problem_is_reported_at_once() -> None:
    message = settings_error({"ATR_TZ": "Mars/Olympus", "ATR_LLM_PROVIDER": "claude"})
    assert "REDIS_URL is required" in message
    assert "ATR_TZ='Mars/Olympus' is invalid" in message
    assert "ATR_LLM_PROVIDER='claude' is invalid: expected one of openai, gemini, offline" \
        in message
    assert "\n" not in message


def test_misspelled_atr_variable_is_an_error_with_a_suggestion() -> None:
    message = settings_error({**MINIMAL, "ATR_DOCLOG_ROOTT": "/srv/logs"})
    assert "ATR_DOCLOG_ROOTT is not a setting of atr-workers; did you mean ATR_DOCLOG_ROOT?" \
        in message


def test_provider_needs_its_key() -> None:
    assert "OPENAI_API_KEY is required: openai is in the LLM chain openai -> offline" \
        in settings_error({**MINIMAL, "ATR_LLM_PROVIDER": "openai"})
    assert "GEMINI_API_KEY is required: gemini is in the LLM chain offline -> gemini" \
        in settings_error({**MINIMAL, "ATR_LLM_FALLBACK": "gemini"})
    assert Settings.from_env({**MINIMAL, "ATR_LLM_PROVIDER": "gemini", "GEMINI_API_KEY": "k",
                              "ATR_LLM_FALLBACK": "offline,gemini"}).llm_chain \
        == ("gemini", "offline")
    assert Settings.from_env({**MINIMAL, "ATR_LLM_FALLBACK": ""}).llm_chain == ("offline",)
    assert Settings.from_env({**MINIMAL, "ATR_LLM_PROVIDER": "gemini",
                              "GEMINI_API_KEY": "g-key"}).gemini_api_key == "g-key"


def test_bridge_settings_go_together_and_token_is_never_echoed() -> None:
    assert "BRIDGE_BASE and BRIDGE_TOKEN go together" in settings_error(
        {**MINIMAL, "BRIDGE_BASE": "https://example.com/wp-json"})
    message = settings_error({**MINIMAL, "BRIDGE_BASE": "https://example.com/wp-json",
                              "BRIDGE_TOKEN": "s3cret-no-colon"})
    assert "BRIDGE_TOKEN=(hidden) is invalid: expected user:application-password" in message
    assert "s3cret" not in message


def test_ga4_thresholds_must_be_ordered() -> None:
    message = settings_error({**MINIMAL, "ATR_GA4_PROMOTE_SCORE": "20",
                              "ATR_GA4_REFRESH_SCORE": "40"})
    assert "ATR_GA4_PROMOTE_SCORE must be greater than ATR_GA4_REFRESH_SCORE" in message


def test_redacted_view_hides_secrets_and_redis_password() -> None:
    settings = Settings.from_env({
        "REDIS_URL": "redis://:hunter2@cache.internal:6379/0",
        "ATR_LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-live-abc",
        "BRIDGE_BASE": "https://example.com/wp-json/", "BRIDGE_TOKEN": "bot:abcd efgh",
    })
    shown = settings.redacted()
    assert shown["OPENAI_API_KEY"] == "(set)"
    assert shown["BRIDGE_TOKEN"] == "(set)"
    assert shown["REDIS_URL"] == "redis://:***@cache.internal:6379/0"
    assert shown["BRIDGE_BASE"] == "https://example.com/wp-json"
    assert set(settings.secrets()) == {"sk-live-abc", "bot:abcd efgh", "hunter2"}
    assert not any(s in str(shown) for s in settings.secrets())


def test_redact_url_keeps_urls_without_password() -> None:
    assert redact_url("redis://10.0.0.5:6379/1") == "redis://10.0.0.5:6379/1"
    assert redact_url("rediss://app:pw@h:6380/0") == "rediss://app:***@h:6380/0"


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env.workers"
    env_file.write_text(
        "# comment\n"
        "REDIS_URL=redis://10.0.0.5:6379/0\n"
        "ATR_TZ='Asia/Tokyo'\n"
        'ATR_DOCLOG_ROOT="/srv/atr/logs"\n'
        "\n", encoding="utf-8")
    settings = load_settings({"ATR_ENV_FILE": str(env_file), "ATR_TZ": "UTC"})
    assert settings.redis_url == "redis://10.0.0.5:6379/0"
    assert settings.doclog_root == Path("/srv/atr/logs")
    assert settings.tz == "UTC"


def test_env_file_with_export_is_refused_with_the_fix(tmp_path: Path) -> None:
    env_file = tmp_path / ".env.workers"
    env_file.write_text("export REDIS_URL=redis://10.0.0.5:6379/0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r":1: systemd's EnvironmentFile does not understand "
                                          r"'export'; write NAME=value without it"):
        load_env_file(env_file)


def test_named_env_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ATR_ENV_FILE=.*no such file"):
        load_settings({"ATR_ENV_FILE": str(tmp_path / "missing.env")})


def test_doclog_location_needs_nothing_but_its_own_two_variables(tmp_path: Path) -> None:
    broken_elsewhere = {"REDIS_URL": "http://wrong", "ATR_LLM_PROVIDER": "openai",
                        "ATR_DOCLOG_ROOT": str(tmp_path), "ATR_TZ": "UTC"}
    location = load_doclog_location(broken_elsewhere)
    assert (location.root, location.zone.key) == (tmp_path, "UTC")
    assert load_doclog_location({}).root == Path("docs/logs")
    with pytest.raises(ConfigError, match="did you mean ATR_DOCLOG_ROOT"):
        load_doclog_location({"ATR_DOCLOG_ROT": "/srv/logs"})
    with pytest.raises(ConfigError, match="ATR_TZ='Nowhere/City' is invalid"):
        load_doclog_location({"ATR_TZ": "Nowhere/City"})
