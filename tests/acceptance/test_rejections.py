"""401, 403 and 404 from real WordPress are rejected at once with one line naming the fix.

The texts are what WordPress 6.1.9 answers: a wrong application password on
``context=edit`` is ``401 rest_forbidden_context: Sorry, you are not allowed
to edit this post.`` (not ``incorrect_password``), a subscriber gets ``403
rest_forbidden_context``, a missing post ``404 rest_post_invalid_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.real_wordpress import RealWordPress
from tests.acceptance.conftest import FAST_RETRY, run_job
from tests.acceptance.rest import Rest
from tests.acceptance.test_featured_image import image_env
from tests.helpers import dead_letters, wait_lines

Worker = Callable[[dict[str, str]], RedisBroker]
WRONG_PASSWORD = "abcd efgh ijkl mnop qrst uvwx"


@pytest.mark.parametrize(("who", "missing", "said", "fix"), [
    ("wrong-password", False,
     "BridgeAuthError: WordPress refused the credentials for GET /wp/v2/posts/{id} "
     "(401 rest_forbidden_context: Sorry, you are not allowed to edit this post.)",
     "check BRIDGE_TOKEN: user 'editor' must exist and the password must be one of its "
     "Application Passwords"),
    ("reader", False,
     "BridgeForbiddenError: WordPress user 'reader' may not do GET /wp/v2/posts/{id} "
     "(403 rest_forbidden_context: Sorry, you are not allowed to edit this post.)",
     "give the user a role that can edit posts and upload files (Editor)"),
    ("editor", True,
     "BridgeNotFoundError: WordPress has nothing at GET /wp/v2/posts/{id} "
     "(404 rest_post_invalid_id: Invalid post ID.)", "check the post id"),
], ids=["wrong-password", "subscriber", "missing-post"])
def test_a_request_that_can_never_succeed_is_rejected_at_once(
        who: str, missing: bool, said: str, fix: str, run_worker: Worker, redis_url: str,
        tmp_path: Path, real_wordpress: RealWordPress, admin: Rest,
        redis_client: redis.Redis) -> None:
    token = (f"editor:{WRONG_PASSWORD}" if who == "wrong-password"
             else real_wordpress.users[who].token)
    post_id = 999_999 if missing else admin.new_post("권한 확인용 글")
    broker = run_worker(image_env(redis_url, tmp_path, real_wordpress.rest_root, token))
    if who == "editor":
        lines = run_job(broker, tmp_path / "logs", "fi_pipeline", {"post_id": post_id})
    else:
        send(broker, "fi_pipeline", {"post_id": post_id}, options=FAST_RETRY)
        lines = []

    if who == "editor":
        assert [(ln["event"], ln["attempt"]) for ln in lines] == [("started", 1),
                                                                  ("rejected", 1)]
        error = lines[-1]["error"]
        assert len(dead_letters(redis_client, "images")) == 1
    else:
        # A configuration error pauses the WordPress jobs instead of dead-lettering
        # each message: the first one waits (deferred) with the reason and the fix.
        lines = wait_lines(tmp_path / "logs", "fi_pipeline",
                           lambda got: any(ln["event"] == "deferred" for ln in got))
        deferred = next(ln for ln in lines if ln["event"] == "deferred")
        assert deferred["reason"].startswith("wordpress jobs are paused since ")
        error = "".join(deferred["reason"].partition(": ")[2:]).rsplit("; fix it", 1)[0]
        error = f"{said.split(': ', 1)[0]}: {error}"
        assert dead_letters(redis_client, "images") == []
    assert error.startswith(said.format(id=post_id)), error
    assert fix in error and "\n" not in error
    assert WRONG_PASSWORD not in error and WRONG_PASSWORD.replace(" ", "") not in error
