"""The built wheel is the product: no devkit, stand-in, fake, demo or supervisor in it."""

from __future__ import annotations

import ast
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"
PRODUCT = {"actors", "brokers", "middleware", "ops", "pipeline"}
# Any of these in a wheel path is workbench, whatever folder it sits in.
WORKBENCH = re.compile(r"(^|/)devkit/|(^|/)tests/|standin|fake|demo|supervise|redis_server"
                       r"|sample_posts")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel ``uv build --wheel`` makes from this checkout, opened."""
    assert UV.exists(), f"{UV} is missing: run ./dev setup"
    out = tmp_path_factory.mktemp("wheel")
    argv = [str(UV), "build", "--wheel", "--out-dir", str(out), str(ROOT)]
    # ./dev setup built the project once, so hatchling is in uv's cache and no
    # index is needed; a cache cleaned since then falls back to the index.
    result = subprocess.run([*argv, "--offline"], capture_output=True, text=True,
                            timeout=300, check=False)
    if result.returncode != 0:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_the_wheel_holds_the_product_packages_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == PRODUCT
    # What an operator's install needs is there, the shipped background included.
    for needed in ("ops/cli.py", "brokers/worker1.py", "pipeline/settings.py",
                   "ops/assets/thumb-bg.jpg", "ops/imagemagick/policy.xml",
                   "ops/env/workers.env.example"):
        assert needed in names
    assert [name for name in names if WORKBENCH.search(name)] == []


def test_no_module_in_the_wheel_imports_the_workbench(wheel: zipfile.ZipFile) -> None:
    offenders = []
    for name in wheel.namelist():
        if not name.endswith(".py"):
            continue
        tree = ast.parse(wheel.read(name), filename=name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported = [node.module]
            else:
                continue
            offenders += [f"{name}:{node.lineno} imports {module}" for module in imported
                          if module.split(".")[0] in ("devkit", "tests", "bench")]
    assert offenders == []
