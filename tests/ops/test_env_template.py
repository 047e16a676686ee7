"""The env template documents exactly the variables that the settings understand."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.settings import VARIABLES, Settings, load_env_file

TEMPLATE = Path(__file__).resolve().parents[2] / "ops" / "env" / "workers.env.example"
_ASSIGNMENT = re.compile(r"^#?([A-Z][A-Z0-9_]*)=")


def template_names() -> list[str]:
    return [m.group(1) for line in TEMPLATE.read_text(encoding="utf-8").splitlines()
            if (m := _ASSIGNMENT.match(line))]


def test_template_and_settings_list_the_same_variables() -> None:
    names = template_names()
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert set(names) == {v.name for v in VARIABLES}


def test_every_template_variable_has_a_comment_above_it() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if _ASSIGNMENT.match(line) and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f"undocumented: {line}"


def test_active_lines_of_the_template_make_valid_settings() -> None:
    # The uncommented lines are a working example; placeholders stay commented.
    Settings.from_env(load_env_file(TEMPLATE))
