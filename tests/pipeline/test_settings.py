"""Settings: defaults, one clear error per bad variable, env files, secrets kept out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.groups import GROUPS, QueueWeight, WorkerGroup
from pipeline.settings import (
    VARIABLES,
    Settings,
    load_doclog_location,
    load_env_file,
    load_settings,
    redact_url,
    variable_name,
    variable_names,
)

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
    assert settings.process_overrides["worker1"] is None
    assert settings.metrics_ports == {"worker1": 9191, "worker2": 9192}


def test_every_field_is_one_declaration_with_its_parser() -> None:
    assert [v.field for v in VARIABLES] == [f.name for f in dataclasses.fields(Settings)]
    assert all(callable(v.parse) and v.help for v in VARIABLES)
    names = variable_names()
    assert len(names) == len(set(names))
    assert {"ATR_WORKER1_PROCESSES", "ATR_WORKER2_THREADS", "ATR_METRICS_WORKER2_PORT"} \
        <= set(names)
    assert variable_name("metrics_ports", "worker1") == "ATR_METRICS_WORKER1_PORT"
    assert variable_name("tz") == "ATR_TZ"


def test_per_group_values_are_a_mapping_over_the_group_table() -> None:
    settings = Settings.from_env({**MINIMAL, "ATR_WORKER1_PROCESSES": "1",
                                  "ATR_WORKER2_THREADS": "5", "ATR_METRICS_WORKER2_PORT": "0"})
    assert settings.process_overrides == {"worker1": 1, "worker2": None}
    assert settings.thread_overrides == {"worker1": None, "worker2": 5}
    assert settings.metrics_ports == {"worker1": 9191, "worker2": None}
    worker1 = settings.configured_group(GROUPS["worker1"])
    assert (worker1.processes, worker1.threads) == (1, 6)
    worker2 = settings.configured_group(GROUPS["worker2"])
    assert (worker2.processes, worker2.threads) == (2, 5)
    shown = settings.redacted()
    assert (shown["ATR_WORKER1_PROCESSES"], shown["ATR_WORKER1_THREADS"]) == ("1", "")
    assert shown["ATR_METRICS_WORKER1_PORT"] == "9191"
    assert hash(settings) == hash(Settings.from_env({**MINIMAL, "ATR_WORKER1_PROCESSES": "1",
                                                     "ATR_WORKER2_THREADS": "5",
                                                     "ATR_METRICS_WORKER2_PORT": "0"}))


def test_a_per_group_variable_of_a_group_not_in_the_table_names_the_groups() -> None:
    message = settings_error({**MINIMAL, "ATR_WORKER3_PROCESSES": "2",
                              "ATR_METRICS_WORKR1_PORT": "9300"})
    assert ("ATR_METRICS_WORKR1_PORT is for worker group 'workr1', which the group table does "
            "not have (did you mean worker1?); groups: worker1, worker2") in message
    assert ("ATR_WORKER3_PROCESSES is for worker group 'worker3', which the group table does "
            "not have (did you mean worker2?); groups: worker1, worker2") in message
    assert "\n" not in message


def test_a_bad_per_group_value_names_its_variable() -> None:
    message = settings_error({**MINIMAL, "ATR_WORKER2_THREADS": "many"})
    assert message == ("invalid settings: ATR_WORKER2_THREADS='many' is invalid: expected a "
                       "whole number of threads from 1 to 256")


def test_a_group_added_to_the_table_gets_its_overrides_and_metrics_port() -> None:
    worker3 = WorkerGroup(name="worker3", role="test", instance_type="-",
                          queues=(QueueWeight("extra", 1),), processes=1, threads=2,
                          shutdown_timeout_s=10, actor_modules=(), metrics_port=9193)
    table = {**GROUPS, "worker3": worker3}
    settings = Settings.from_env({**MINIMAL, "ATR_WORKER3_THREADS": "4"}, table)
    assert settings.configured_group(worker3).concurrency == 4
    assert settings.metrics_ports["worker3"] == 9193
    assert settings.redacted()["ATR_METRICS_WORKER3_PORT"] == "9193"
    moved = Settings.from_env({**MINIMAL, "ATR_METRICS_WORKER3_PORT": "9300",
                               "ATR_WORKER3_PROCESSES": "3"}, table)
    assert moved.metrics_ports["worker3"] == 9300
    assert moved.configured_group(worker3).processes == 3
    assert "ATR_WORKER3_PROCESSES" in variable_names(table)


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
    assert "ATR_GA4_REFRESH_SCORE (40) must be less than ATR_GA4_PROMOTE_SCORE (20)" in message
    message = settings_error({**MINIMAL, "ATR_GA4_PRUNE_SCORE": "30"})
    assert "ATR_GA4_PRUNE_SCORE (30) must be less than ATR_GA4_REFRESH_SCORE (30)" in message
    message = settings_error({**MINIMAL, "ATR_GA4_DECAY_SEVERE_REACH": "0.9"})
    assert "ATR_GA4_DECAY_SEVERE_REACH (0.9) must be less than ATR_GA4_DECAY_MODERATE_REACH" \
        in message


def test_ga4_weights_are_checked_and_name_the_variable() -> None:
    message = settings_error({**MINIMAL, "ATR_GA4_WEIGHT_REACH": "-1"})
    assert "ATR_GA4_WEIGHT_REACH='-1' is invalid: expected a number from 0 to 100" in message
    zero = {f"ATR_GA4_WEIGHT_{k}": "0" for k in ("REACH", "ENGAGEMENT", "VIEWS_PER_USER",
                                                  "KEY_EVENTS")}
    assert "must not all be 0" in settings_error({**MINIMAL, **zero})
    assert "ATR_GA4_PAGE_PATHS: about must start and end with '/'" in settings_error(
        {**MINIMAL, "ATR_GA4_PAGE_PATHS": "about"})


def test_renamed_ga4_variables_say_their_new_name() -> None:
    message = settings_error({**MINIMAL, "ATR_GA4_WEIGHT_VIEWS": "0.4",
                              "ATR_GA4_EXPORT_DIR": "data/ga4"})
    assert "ATR_GA4_WEIGHT_VIEWS is not a setting of atr-workers; it was renamed " \
        "ATR_GA4_WEIGHT_REACH" in message
    assert "ATR_GA4_EXPORT_DIR is not a setting of atr-workers; it was renamed " \
        "ATR_GA4_DROP_DIR" in message


def test_ga4_settings_build_the_scoring_config_with_its_defaults() -> None:
    from pipeline.ga4 import Ga4Config

    assert Settings.from_env(MINIMAL).ga4_config == Ga4Config()
    tuned = Settings.from_env({**MINIMAL, "ATR_GA4_WEIGHT_KEY_EVENTS": "0",
                               "ATR_GA4_MIN_VIEWS": "100",
                               "ATR_GA4_PAGE_PATHS": "/about/,/이용약관/"}).ga4_config
    assert (tuned.weight_key_events, tuned.min_views, tuned.page_paths) == (
        0.0, 100, ("/about/", "/이용약관/"))


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


def test_a_misspelled_per_group_variable_still_gets_a_suggestion() -> None:
    assert ("ATR_WORKER1_PROCESES is not a setting of atr-workers; did you mean "
            "ATR_WORKER1_PROCESSES?") in settings_error({**MINIMAL, "ATR_WORKER1_PROCESES": "2"})
