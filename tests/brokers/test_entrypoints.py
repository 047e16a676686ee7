"""Each entrypoint module, as the dramatiq CLI imports it, declares only its group's actors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.groups import GROUPS


@pytest.mark.parametrize("group", list(GROUPS))
def test_entrypoint_declares_only_its_groups_queues(group: str, worker_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    code = (f"import json, brokers.{group} as m; "
            "print(json.dumps(sorted((a, m.broker.get_actor(a).queue_name) "
            "for a in m.broker.get_declared_actors())))")
    result = subprocess.run([sys.executable, "-c", code], env=worker_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=True)
    declared = json.loads(result.stdout)
    assert {queue for _, queue in declared} == set(GROUPS[group].queue_names)
    other = next(g for g in GROUPS.values() if g.name != group)
    assert not {queue for _, queue in declared} & set(other.queue_names)
