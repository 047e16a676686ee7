"""The README's main command: ``./dev demo`` (``python -m devkit.demo``) with no Redis set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import assert_one_clear_line, run_atr


def run_demo(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m devkit.demo`` as ``./dev demo`` runs it, with this venv's Python."""
    return subprocess.run([sys.executable, "-m", "devkit.demo"], env=env, cwd=cwd, text=True,
                          capture_output=True, timeout=180, check=False)


def test_demo_starts_its_own_redis_and_routes_every_queue(clean_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    result = run_demo(clean_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "REDIS_URL is unset: started a private redis-server at redis://127.0.0.1:" in out
    table = out[out.index("QUEUE "):out.index("(first answers")].splitlines()[1:]
    rows = {line.split()[0]: line.split() for line in table if line.strip()}
    assert len(rows) == 10
    for queue, row in rows.items():
        assert row[1] == row[2], f"{queue} answered by the wrong group: {row}"
        assert row[-1] == "ok"
    thumbs = out[out.index("==> thumbnails of the sample posts"):
                 out.index("==> SEO automation")].splitlines()[1:]
    assert len(thumbs) == 8
    for line in thumbs:
        path = Path(line.strip())
        assert path.suffix == ".jpg" and path.stat().st_size > 10_000
        assert path.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    seo = out[out.index("==> SEO automation (propose mode)"):
              out.index("==> GA4 scoring on worker2")]
    assert "LLM chain: offline" in seo
    for post_id in range(101, 109):
        assert f"post {post_id}  " in seo
    assert seo.count("by offline (kiwipiepy") == 8
    assert seo.count("meta description") == 8
    assert "8 proposal(s). Approve with: atr seo approve 101 102" in seo
    ga4 = out[out.index("==> GA4 scoring on worker2"):out.index("==> index_submit")]
    assert ("worker2 scored 8 posts of 2026-11-01..2026-11-30 in" in ga4
            and "promote 2, keep 3, refresh 2, prune 0, insufficient-data 1" in ga4), ga4
    ids = {str(i) for i in range(101, 109)}
    tiers = [line.split()[1] for line in ga4.splitlines() if line.split()[:1] and
             line.split()[0] in ids]
    assert tiers == ["promote", "promote", "keep", "keep", "keep", "refresh", "refresh",
                     "insufficient-data"], ga4
    page = Path(ga4.split("monthly report (open it in a browser): ")[1].split()[0])
    assert page.name == "2026-11.html" and "data:image/png;base64," in page.read_text(
        encoding="utf-8")
    index = out[out.index("==> index_submit"):out.index("==> monetize")]
    assert "accepted 8 URL(s) in 1 request(s) (status 200)" in index
    assert "the same URLs again: 8 skipped, already submitted today" in index
    ads = out[out.index("==> monetize"):out.index("==> doclog_rotate")]
    assert "insufficient-data  unchanged" in ads
    # The GA4 step's tiers: 102 and 103 are capped by the word floor of 25.
    assert "capped at reduced: 24 words < ATR_ADS_MIN_WORDS=25" in ads
    assert "WordPress holds: 101=on, 102=reduced, 103=reduced, 104=on, 105=reduced, " \
        "106=on, 107=reduced, 108=-" in ads, ads
    rotate = out[out.index("==> doclog_rotate (dry run)"):].splitlines()[1]
    assert rotate.strip().startswith("ok: ")
    evidence = out[out.index("==> the doclog evidence"):out.index("==> stopping")]
    assert "ads.applied" in evidence and "succeeded" in evidence
    assert "doclog.rotated" in evidence
    assert "worker1: exit code 0" in out
    assert "worker2: exit code 0" in out
    assert out.rstrip().endswith("demo succeeded: every queue was handled by its own group")


def test_demo_without_redis_server_says_how_to_install_it(clean_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    env = {**clean_env, "PATH": "/nonexistent"}
    result = run_demo(env, tmp_path)
    assert result.returncode == 2
    line = assert_one_clear_line(result.stderr)
    assert line.startswith("demo: redis-server is not on PATH")
    assert "apt-get install redis-server" in line


def test_the_product_cli_has_no_demo_command(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("demo", env=clean_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'demo'" in result.stderr
