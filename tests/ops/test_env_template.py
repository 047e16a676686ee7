"""The env template documents exactly the variables that the settings understand.

The template is written by hand, not generated: it groups the variables in
the runbook's sections with shared explanations and example values (the
placeholders an operator replaces), which one help line per declaration
cannot give. These tests keep it in step with the declarations instead: the
same names (per-group ones for every group of the table), and each commented
``#NAME=value`` line showing the declared default.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.groups import GROUPS
from pipeline.settings import VARIABLES, Settings, load_env_file, variable_names

TEMPLATE = Path(__file__).resolve().parents[2] / "ops" / "env" / "workers.env.example"
_ASSIGNMENT = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$")


def template_lines() -> list[tuple[bool, str, str]]:
    """(commented, name, value) of every assignment line of the template."""
    return [(m.group(1) == "#", m.group(2), m.group(3))
            for line in TEMPLATE.read_text(encoding="utf-8").splitlines()
            if (m := _ASSIGNMENT.match(line))]


def test_template_and_settings_list_the_same_variables() -> None:
    names = [name for _, name, _ in template_lines()]
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert set(names) == set(variable_names())


def test_every_template_variable_has_a_comment_above_it() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if _ASSIGNMENT.match(line) and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f"undocumented: {line}"


def test_the_template_shows_the_declared_defaults() -> None:
    defaults: dict[str, str | None] = {}
    for var in VARIABLES:
        if var.per_group:
            defaults.update({var.name_for(g.name): var.default_for(g) for g in GROUPS.values()})
        else:
            defaults[var.name] = var.default
    for commented, name, value in template_lines():
        default = defaults[name]
        # A variable without a default shows an example (or nothing); one with a
        # default shows it, commented or active, so the template cannot drift.
        if default is not None:
            assert value == default, f"{name}: template shows {value!r}, default is {default!r}"
        elif not commented:
            assert name == "REDIS_URL", f"{name} has no default: keep it commented"


def test_active_lines_of_the_template_make_valid_settings() -> None:
    # The uncommented lines are a working example; placeholders stay commented.
    Settings.from_env(load_env_file(TEMPLATE))
