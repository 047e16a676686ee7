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
              out.index("==> index_submit")]
    assert "LLM chain: offline" in seo
    for post_id in range(101, 109):
        assert f"post {post_id}  " in seo
    assert seo.count("by offline (kiwipiepy") == 8
    assert seo.count("meta description") == 8
    assert "8 proposal(s). Approve with: atr seo approve 101 102" in seo
    index = out[out.index("==> index_submit"):out.index("==> monetize")]
    assert "accepted 8 URL(s) in 1 request(s) (status 200)" in index
    assert "the same URLs again: 8 skipped, already submitted today" in index
    ads = out[out.index("==> monetize"):out.index("==> doclog_rotate")]
    assert "insufficient-data  unchanged" in ads
    assert "capped at reduced: 24 words < ATR_ADS_MIN_WORDS=25" in ads
    assert "7 proposal(s) from GA4 snapshot" in ads
    assert "WordPress holds: 101=on, 102=reduced, 103=reduced, 104=off, 105=-" in ads
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
