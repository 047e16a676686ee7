"""``atr imagemagick check`` with the real CLI: a table, one line per problem, the exit code."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_atr

ROOT = Path(__file__).resolve().parents[2]
NANUM = "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"


def test_the_shipped_policy_and_a_korean_font_pass(worker_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    env = {**worker_env, "MAGICK_CONFIGURE_PATH": str(ROOT / "ops" / "imagemagick"),
           "ATR_THUMB_FONT": NANUM}
    result = run_atr("imagemagick", "check", "--format", "webp", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Policy files in force (load order): {ROOT}/ops/imagemagick/policy.xml" \
        in result.stdout
    assert "WEBP   write  yes" in result.stdout
    assert result.stdout.rstrip().endswith("ok: the image workers can render here")


def test_a_denied_coder_and_a_latin_font_are_problems(worker_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    (tmp_path / "policy.xml").write_text(
        '<policymap><policy domain="coder" rights="read" pattern="WEBP"/></policymap>')
    env = {**worker_env, "MAGICK_CONFIGURE_PATH": str(tmp_path),
           "ATR_THUMB_FONT": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}
    result = run_atr("imagemagick", "check", "--format", "webp", "--json", env=env,
                     cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    problems = [f["message"] for f in report["findings"] if f["status"] != "ok"]
    assert problems[0] == (f"ImageMagick policy denies write for coder WEBP (policy: "
                           f"{tmp_path}/policy.xml); allow it or set ATR_THUMB_FORMAT=jpeg")
    assert problems[1].startswith("ATR_THUMB_FONT=/usr/share/fonts/truetype/dejavu/")
    assert len(problems) == 2
    text = run_atr("imagemagick", "check", "--format", "webp", env=env, cwd=tmp_path)
    assert text.returncode == 1
    assert "2 problem(s):" in text.stdout and "WEBP   write  NO" in text.stdout


def test_a_bad_format_is_a_usage_error(worker_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("imagemagick", "check", "--format", "gif", env=worker_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'gif'" in result.stderr
