"""The ImageMagick preflight: the shipped policy, a deny policy, the font check, the limits.

MagickCore reads its policy once, when it starts, so every policy is checked in
its own Python process with MAGICK_CONFIGURE_PATH set before Wand loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.imagemagick import check_font_setting, denying_files

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ops" / "imagemagick"
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DENY_WEBP_WRITE = """<?xml version="1.0" encoding="UTF-8"?>
<policymap>
  <policy domain="coder" rights="read" pattern="WEBP"/>
</policymap>
"""

_PROBE = """
import json, os, sys
from pipeline.imagemagick import Need, check, check_need, is_authorized, resource_limits
rights = {f"{c} {r}": is_authorized(c, r) for c in sys.argv[1].split(",")
          for r in ("read", "write")}
findings = [f.__dict__ for f in check([Need("WEBP", "write")], None, environ=os.environ)]
print(json.dumps({"rights": rights, "findings": findings, "limits": resource_limits()}))
"""

# What the thumbnail renderer does, as far as ImageMagick is concerned: read a
# JPEG and a PNG background, composite an overlay, draw Hangul from the font
# file, write JPEG and WebP blobs.
_RENDER = """
import sys
from wand.color import Color
from wand.drawing import Drawing
from wand.image import Image
with Image(width=320, height=200, background=Color("#3366aa")) as bg:
    blobs = [bg.make_blob("jpeg"), bg.make_blob("png")]
for blob in blobs:
    with Image(blob=blob) as img:
        img.transform(resize="300x150^")
        img.crop(width=300, height=150, gravity="center")
        with Image(width=300, height=150, background=Color("rgba(0,0,0,0.5)")) as overlay:
            img.composite(overlay, 0, 0)
        with Drawing() as draw:
            draw.font = sys.argv[1]
            draw.font_size = 40
            draw.fill_color = Color("white")
            draw.text(10, 90, "한국어 제목")
            draw(img)
        for fmt in ("jpeg", "webp"):
            with img.clone() as out:
                out.format = fmt
                magic = out.make_blob()[:4]
                assert magic[:3] == b"\\xff\\xd8\\xff" or magic == b"RIFF", magic
print("rendered")
"""


def _run(code: str, configure_path: Path | None, *args: str,
         extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGICK_")}
    if configure_path is not None:
        env["MAGICK_CONFIGURE_PATH"] = str(configure_path)
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, text=True,
                          capture_output=True, timeout=60, check=False)


def _probe(configure_path: Path | None, coders: str, **extra_env: str) -> dict[str, Any]:
    result = _run(_PROBE, configure_path, coders, extra_env=extra_env)
    assert result.returncode == 0, result.stderr
    probed: dict[str, Any] = json.loads(result.stdout)
    return probed


def test_the_shipped_policy_allows_our_coders_and_denies_what_we_never_use() -> None:
    rights = _probe(SHIPPED, "JPEG,PNG,WEBP,PDF,URL,MVG,MSL,PS,EPS,XPS,SVG,HTTPS,FTP")["rights"]
    for coder in ("JPEG", "PNG", "WEBP"):
        assert rights[f"{coder} read"] and rights[f"{coder} write"], coder
    for coder in ("PDF", "URL", "MVG", "MSL", "PS", "EPS", "XPS", "SVG", "HTTPS", "FTP"):
        assert not rights[f"{coder} read"] and not rights[f"{coder} write"], coder


def test_the_shipped_policy_sets_worker_limits_and_no_time_limit() -> None:
    probed = _probe(SHIPPED, "JPEG")
    limits = probed["limits"]
    assert limits["time"] == 2**63 - 1
    assert limits["memory"] == 256 * 2**20 and limits["area"] == 64_000_000
    time_finding = [f for f in probed["findings"] if f["subject"] == "time"]
    assert [f["status"] for f in time_finding] == ["ok"]


def test_the_renderers_operations_work_under_the_shipped_policy() -> None:
    result = _run(_RENDER, SHIPPED, str(NANUM))
    assert result.returncode == 0 and result.stdout.strip() == "rendered", result.stderr


def test_a_deny_policy_directory_is_named_in_the_finding(tmp_path: Path) -> None:
    (tmp_path / "policy.xml").write_text(DENY_WEBP_WRITE)
    probed = _probe(tmp_path, "WEBP")
    assert probed["rights"] == {"WEBP read": True, "WEBP write": False}
    (webp, *_) = probed["findings"]
    assert webp["status"] == "denied"
    assert webp["message"] == (
        f"ImageMagick policy denies write for coder WEBP (policy: {tmp_path}/policy.xml); "
        "allow it or set ATR_THUMB_FORMAT=jpeg")


def test_a_time_limit_is_refused() -> None:
    probed = _probe(SHIPPED, "JPEG", MAGICK_TIME_LIMIT="60")
    (finding,) = [f for f in probed["findings"] if f["subject"] == "time"]
    assert finding["status"] == "refused"
    assert "kills the whole worker process" in finding["message"]


def test_the_system_policy_that_debian_ships_is_read_despite_its_nested_comment() -> None:
    system = Path("/etc/ImageMagick-6/policy.xml")
    if not system.exists():
        pytest.skip("no system ImageMagick 6 policy")
    assert denying_files([system], "PDF", "read") == [system]
    assert denying_files([system], "JPEG", "write") == []


def test_denying_files_follow_magickcores_rules(tmp_path: Path) -> None:
    policy = tmp_path / "policy.xml"
    policy.write_text('<policymap><policy domain="coder" rights="none" pattern="*"/>'
                      '<policy domain="coder" rights="read|write" pattern="{JPEG,PNG}"/>'
                      "</policymap>")
    assert denying_files([policy], "png", "write") == []
    assert denying_files([policy], "WEBP", "read") == [policy]


def test_a_korean_font_is_accepted() -> None:
    finding = check_font_setting(NANUM)
    assert finding.status == "ok", finding.message
    assert "covers 11172 Hangul syllables" in finding.message


def test_a_latin_only_font_is_refused() -> None:
    finding = check_font_setting(DEJAVU)
    assert finding.status == "refused"
    assert finding.message.startswith(f"ATR_THUMB_FONT={DEJAVU} has no glyph for")
    assert "Korean titles would silently disappear" in finding.message
    assert "install fonts-nanum" in finding.message


def test_a_missing_or_unset_font_is_refused(tmp_path: Path) -> None:
    missing = check_font_setting(tmp_path / "gone.ttf")
    assert missing.status == "missing"
    assert "cannot be read (No such file or directory)" in missing.message
    unset = check_font_setting(None)
    assert unset.status == "missing" and unset.message.startswith("ATR_THUMB_FONT is not set")


def test_a_font_collection_is_refused_with_the_reason(tmp_path: Path) -> None:
    # The header is all the check reads: a real collection starts the same way.
    collection = tmp_path / "NotoSansCJK-Bold.ttc"
    collection.write_bytes(b"ttcf\x00\x02\x00\x00" + NANUM.read_bytes()[:64])
    finding = check_font_setting(collection)
    assert finding.status == "refused"
    assert "font collection (.ttc)" in finding.message
    assert "the Japanese one" in finding.message


def test_the_font_check_sees_a_replaced_file(tmp_path: Path) -> None:
    font = tmp_path / "title.ttf"
    font.write_bytes(DEJAVU.read_bytes())
    assert check_font_setting(font).status == "refused"
    font.write_bytes(NANUM.read_bytes())  # another size and mtime: not the cached answer
    assert check_font_setting(font).status == "ok"
