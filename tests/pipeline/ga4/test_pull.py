"""The live pull through Google's client (REST transport) against the local Data API fake."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devkit.fakes.ga4_server import ACCESS_TOKEN, PROPERTY_ID, Ga4DataFake
from pipeline.ga4.pull import Ga4PullError, Ga4PullUnavailable, PullConfig, pull_report
from pipeline.ga4.reader import Period, read_export

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
ROWS = [(f"/post-{i}/?utm_source=x", {"screenPageViews": 100 + i, "activeUsers": 50,
                                      "userEngagementDuration": 3000, "keyEvents": i % 2,
                                      "sessions": 60, "engagementRate": 0.52})
        for i in range(7)]


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def fake() -> Iterator[Ga4DataFake]:
    with Ga4DataFake(ROWS) as server:
        yield server


@pytest.fixture
def config(fake: Ga4DataFake, private_key: str, tmp_path: Path) -> PullConfig:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(fake.service_account_info(private_key)), encoding="utf-8")
    return PullConfig(PROPERTY_ID, key_file, fake.url)


def test_the_pull_pages_through_every_row_and_reads_like_a_saved_answer(
        fake: Ga4DataFake, config: PullConfig, tmp_path: Path) -> None:
    path = pull_report(config, *NOV, tmp_path / "drop", page_rows=3)
    assert path.name == "runreport_20261101-20261130.json"
    assert [r.body.get("offset", "0") for r in fake.requests] == ["0", "3", "6"]
    assert {r.authorization for r in fake.requests} == {f"Bearer {ACCESS_TOKEN}"}
    assert fake.tokens_issued == 1
    export = read_export(path)
    assert export.period == Period(*NOV) and export.rows == 7
    assert export.table["views"].tolist() == [100.0 + i for i in range(7)]
    assert {"users", "engagement", "key_events", "sessions"} <= export.available
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_a_property_the_account_may_not_read_is_permanent(fake: Ga4DataFake,
                                                          config: PullConfig,
                                                          tmp_path: Path) -> None:
    other = PullConfig("999", config.credentials, config.api_base)
    with pytest.raises(Ga4PullError, match=r"403 .*PERMISSION_DENIED|403 .*sufficient "
                                           r"permissions.*Viewer on property 999"):
        pull_report(other, *NOV, tmp_path / "drop")
    assert not (tmp_path / "drop").exists()


def test_an_expired_token_is_renewed_once(fake: Ga4DataFake, config: PullConfig,
                                          tmp_path: Path) -> None:
    fake.fail_next(401)
    pull_report(config, *NOV, tmp_path / "drop")
    assert fake.tokens_issued == 2 and len(fake.requests) == 2


def test_a_refused_token_is_permanent_and_says_what_to_check(fake: Ga4DataFake,
                                                            config: PullConfig,
                                                            tmp_path: Path) -> None:
    # google-auth answers one 401 with a fresh token and a second try, as for an expired
    # token; a credential refused again is permanent.
    fake.fail_next(401, times=5)
    with pytest.raises(Ga4PullError) as caught:
        pull_report(config, *NOV, tmp_path / "drop")
    assert "401" in str(caught.value) and "ATR_GA4_CREDENTIALS" in str(caught.value)
    assert fake.tokens_issued >= 2
    assert ACCESS_TOKEN not in str(caught.value)


def test_quota_exhausted_is_transient_and_writes_nothing(fake: Ga4DataFake,
                                                         config: PullConfig,
                                                         tmp_path: Path) -> None:
    fake.fail_next(429)
    with pytest.raises(Ga4PullUnavailable, match="Exhausted property tokens per hour"):
        pull_report(config, *NOV, tmp_path / "drop", page_rows=3)
    assert not (tmp_path / "drop").exists()


def test_an_unknown_service_account_cannot_get_a_token(fake: Ga4DataFake, private_key: str,
                                                       tmp_path: Path) -> None:
    info = {**fake.service_account_info(private_key), "client_email": "x@y.iam.gserviceaccount.com"}
    key_file = tmp_path / "other.json"
    key_file.write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(Ga4PullError, match="could not get a token"):
        pull_report(PullConfig(PROPERTY_ID, key_file, fake.url), *NOV, tmp_path)
    assert fake.requests == []
