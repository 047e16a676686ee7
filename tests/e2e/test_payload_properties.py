"""Generated payloads against the real workers: none crashes, retries, coerces or calls out.

Hypothesis generates, for each actor, at least :data:`EXAMPLES` payloads:
valid ones, ones with a value of any JSON type in place of a valid one,
unknown keys (any text, ``self`` included), missing required keys, and
``kwargs`` that are not an object. Each payload is sent twice: through the
producer path (``actor.send_with_options``, and for every
:data:`ATR_SEND_EVERY`-th one also ``atr send ACTOR -`` in-process) and the raw
path (``HSET dramatiq:<q>.msgs`` + ``RPUSH dramatiq:<q>``, docs/messages.md
§5.1), to both worker groups run by the real dramatiq CLI. Then:

- every message has a final doclog line (a raw body whose ``kwargs`` is not
  an object has the envelope guard's ``moved_aside``, §13), and the worker
  groups are alive
  and stop cleanly (no crash, no unhandled exception, no logging error);
- a payload the test's own model of the contract calls invalid is
  ``rejected`` on attempt 1 with a ``PayloadError`` (never retried, never
  ``failed``), and only invalid ones are;
- no message is ever ``failed`` (every refusal here is permanent);
- the ``started`` line holds the payload exactly as sent (same JSON, same
  types): nothing was coerced on the way;
- the WordPress stand-in was asked only about post ids of valid payloads, the
  IndexNow fake only for the URLs of valid ``index_submit`` payloads (and the
  posts a valid ``index_sweep`` found), and the later actors wrote no domain
  doclog line (``ga4.no_input``, ``index.swept``, ``ads.no_snapshot``) for an
  invalid payload. No GA4 property is configured, so ``ga4_score`` never pulls
  from the Data API and its drop folder stays empty: every ``files`` list is
  refused (a name that is no file there, a path, ``..``, an empty list).

Generation is derandomized (the same payloads on every run) and the
examples are generated first and sent in one batch per actor, so one
worker boot serves them all. Canary drills (``sleep_ms`` above a few ms,
``fail_attempts`` > 0, which fail on purpose) are left out of generation.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from actors.shared import POST_ID_MAX
from brokers.boot import producer_broker
from devkit.fakes.indexnow_server import IndexNowFake
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from devkit.wordpress import WordPressStandIn
from pipeline.doclog.render import render_line
from pipeline.index.indexnow import endpoint_name
from pipeline.redact import Redactor
from pipeline.settings import Settings
from pipeline.text import post_title
from tests.raw_producer import raw_send

ROOT = Path(__file__).parents[2]
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
EXAMPLES = 1000
ATR_SEND_EVERY = 25
FINAL = ("succeeded", "rejected", "dead", "moved_aside")
#: Where a worker's envelope guard records a body it moved aside (docs/messages.md §13).
ENVELOPE = "envelope"
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

# --- JSON values of every type --------------------------------------------------
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)


@dataclass(frozen=True)
class Param:
    """One parameter of an actor: its valid values, whether required, the value rule."""

    valid: st.SearchStrategy[Any]
    required: bool
    ok: Callable[[Any], bool]
    #: A value the actor accepts but that runs a drill or holds a thread: never generated.
    avoid: Callable[[Any], bool] = lambda v: False
    #: Values close to valid ones (a URL with a NUL), tried besides any JSON value.
    near: st.SearchStrategy[Any] | None = None


def _int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: type(v) is int and low <= v <= high


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _title_ok(v: Any) -> bool:
    return type(v) is str and bool(post_title(v))


POST_ID = Param(st.integers(min_value=1, max_value=POST_ID_MAX), True, _int_in(1, POST_ID_MAX))
FORCE = Param(st.booleans(), False, _is_bool)
PROPOSAL_ID = Param(st.none() | st.text(min_size=1, max_size=36), False,
                    lambda v: v is None or (type(v) is str and v != ""))
DRY_RUN = Param(st.booleans(), False, _is_bool)
CANARY = {
    "token": Param(st.from_regex(_TOKEN, fullmatch=True) | st.just(""), False,
                   lambda v: type(v) is str and (v == "" or bool(_TOKEN.fullmatch(v)))),
    "sleep_ms": Param(st.integers(0, 3), False, _int_in(0, 60_000),
                      avoid=lambda v: type(v) is int and 3 < v <= 60_000),
    "fail_attempts": Param(st.just(0), False, _int_in(0, 5),
                           avoid=lambda v: type(v) is int and 0 < v <= 5),
}
SEO_SUGGEST = {
    "title": Param(st.text(min_size=1, max_size=40), True, _title_ok),
    "content": Param(st.text(max_size=200), True, lambda v: type(v) is str),
    "tags": Param(st.none() | st.lists(st.text(max_size=10), max_size=4), False,
                  lambda v: v is None or (type(v) is list and all(type(t) is str for t in v))),
    "ref": Param(st.none() | st.text(max_size=30), False,
                 lambda v: v is None or (type(v) is str and len(v) <= 200)),
}


# worker2's later actors. The drop folder is empty (no GA4 property to pull
# from), so a ``files`` list never names a pending file: every list is refused.
GA4_SCORE = {
    "files": Param(st.none(), False, lambda v: v is None,
                   near=st.lists(st.sampled_from(["pages.csv", "../pages.csv", "/etc/passwd",
                                                  "done", ".", "..", "a\x00.csv", ""])
                                 | st.text(max_size=12), max_size=3)),
    "dry_run": DRY_RUN,
}
#: Hosts whose key the IndexNow fake knows: a valid submission is answered 200.
INDEX_HOSTS = ("example.com", "blog.example.kr")
_URL_PATH = st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=12)
_URLS = st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}",
                  st.sampled_from(["http", "https"]), st.sampled_from(INDEX_HOSTS), _URL_PATH)
_NEAR_URLS = (st.builds(lambda head, tail: head + tail,
                        st.sampled_from(["http://[", "https://example.com/\x00",
                                         "ftp://example.com/", "javascript:alert(1)//",
                                         "https://", "//example.com/", "https://example.com/ a",
                                         "https://example.com/\x7f", "file:///etc/passwd"]),
                        st.text(max_size=6))
              | st.text(max_size=20))
#: The fake's endpoint name (its host:port), known once the fixture has started it.
INDEXNOW_ENDPOINT: list[str] = []


def _url_ok(v: Any) -> bool:
    from urllib.parse import urlsplit
    if type(v) is not str or any(c.isspace() or ord(c) < 32 or 127 <= ord(c) < 160
                                 for c in v):
        return False
    try:
        parts = urlsplit(v)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


INDEX_SUBMIT = {
    "urls": Param(st.lists(_URLS, min_size=1, max_size=4), True,
                  lambda v: type(v) is list and 1 <= len(v) <= 100_000
                  and all(_url_ok(u) for u in v),
                  near=st.lists(_URLS | _NEAR_URLS, max_size=4)),
    "endpoint": Param(st.deferred(lambda: st.none() | st.sampled_from(INDEXNOW_ENDPOINT)),
                      False, lambda v: v is None or v in INDEXNOW_ENDPOINT,
                      near=st.sampled_from(["google", "api.indexnow.org", ""])),
}
MONETIZE = {
    "post_ids": Param(st.none() | st.lists(st.integers(1, POST_ID_MAX), max_size=4), False,
                      lambda v: v is None or (type(v) is list
                                              and all(_int_in(1, POST_ID_MAX)(p) for p in v)),
                      near=st.lists(st.integers(-(2**70), 2**70) | st.booleans()
                                    | st.text(st.characters(codec="ascii",
                                                            categories=["N"]), max_size=3),
                                    max_size=3)),
    "apply": Param(st.none() | st.booleans(), False, lambda v: v is None or _is_bool(v)),
    "force": FORCE,
}


@dataclass(frozen=True)
class ActorCase:
    actor: str
    queue: str
    stream: str
    params: dict[str, Param]
    #: Every domain (dotted) doclog line of this actor's messages is of a valid payload.
    events_only_if_valid: bool = False


CASES = [
    ActorCase("ping_seo", "seo", "canary", CANARY),
    ActorCase("ping_misc", "misc", "canary", CANARY),
    ActorCase("doclog_rotate", "doclog", "doclog_rotate", {"dry_run": DRY_RUN}),
    ActorCase("doclog_rotate_worker1", "high", "doclog_rotate_worker1", {"dry_run": DRY_RUN}),
    ActorCase("thumbnail", "thumbnails", "thumbnail", {"post_id": POST_ID}),
    ActorCase("fi_pipeline", "images", "fi_pipeline", {"post_id": POST_ID, "force": FORCE}),
    ActorCase("seo_automation", "seo", "seo_automation", {"post_id": POST_ID, "force": FORCE}),
    ActorCase("seo_apply", "seo", "seo_apply", {"post_id": POST_ID, "force": FORCE,
                                                 "proposal_id": PROPOSAL_ID}),
    ActorCase("seo_suggest", "seo", "seo_suggest", SEO_SUGGEST),
    ActorCase("ga4_score", "ga4", "ga4_score", GA4_SCORE, events_only_if_valid=True),
    ActorCase("index_submit", "index", "index_submit", INDEX_SUBMIT,
              events_only_if_valid=True),
    # After index_submit: the posts a sweep finds are submitted (IndexNow asked).
    ActorCase("index_sweep", "index", "index_sweep", {}, events_only_if_valid=True),
    ActorCase("monetize", "ads", "monetize", MONETIZE, events_only_if_valid=True),
]


def payloads(case: ActorCase) -> st.SearchStrategy[Any]:
    """Valid payloads and every way of breaking one."""
    params = case.params

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        kwargs: dict[str, Any] = {}
        for name, param in params.items():
            if param.required or draw(st.booleans()):
                kwargs[name] = draw(param.valid)
        mutations = ["valid", "unknown", "self", "not_object"]
        if params:  # an actor without parameters has no value to break
            mutations += ["value", "value", "missing"]
        mutation = draw(st.sampled_from(mutations))
        if mutation == "value":
            name = draw(st.sampled_from(sorted(params)))
            near = params[name].near
            values = json_values if near is None else json_values | near | near
            kwargs[name] = draw(values.filter(lambda v: not params[name].avoid(v)))
        elif mutation == "unknown":
            kwargs[draw(st.text(max_size=20).filter(lambda k: k not in params))] = \
                draw(json_values)
        elif mutation == "self":
            kwargs["self"] = draw(json_values)
        elif mutation == "missing" and kwargs:
            kwargs.pop(draw(st.sampled_from(sorted(kwargs))))
        elif mutation == "not_object":
            return draw(st.lists(json_values, max_size=3) | _scalars)
        return kwargs

    return build()


def is_valid(case: ActorCase, kwargs: Any) -> bool:
    """The contract of docs/messages.md, modelled independently of the workers' code."""
    if type(kwargs) is not dict:
        return False
    if any(key not in case.params for key in kwargs):
        return False
    if any(p.required and name not in kwargs for name, p in case.params.items()):
        return False
    return all(case.params[name].ok(value) for name, value in kwargs.items())


def generate(case: ActorCase) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate])
    @given(payloads(case))
    def collect(payload: Any) -> None:
        found.append(payload)

    collect()
    return found


def as_logged(value: Any) -> Any:
    """``value`` as a doclog line holds it: the same JSON, secret-named keys' values hidden."""
    return json.loads(render_line({"kwargs": value}, redactor=Redactor()))["kwargs"]


def canonical(value: Any) -> str:
    """JSON with its types: True and 1, 1 and 1.0 stay apart."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- the running system -----------------------------------------------------------

@dataclass
class System:
    client: redis.Redis
    root: Path
    wordpress: WordPressStandIn
    indexnow: IndexNowFake
    env: dict[str, str]
    groups: tuple[GroupProcess, GroupProcess]


@pytest.fixture(scope="module")
def system(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[System]:
    import os

    tmp = tmp_path_factory.mktemp("properties")
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ATR_") and k not in ("REDIS_URL", "OPENAI_API_KEY",
                                                      "GEMINI_API_KEY", "BRIDGE_BASE",
                                                      "BRIDGE_TOKEN")}
    key = "a1b2c3d4e5f6a7b8"
    (tmp / "ga4drop").mkdir()
    with WordPressStandIn() as wordpress, \
            IndexNowFake(keys={host: key for host in INDEX_HOSTS}) as indexnow:
        INDEXNOW_ENDPOINT[:] = [endpoint_name(indexnow.url)]
        env |= {"ATR_INDEXNOW_KEY": key, "ATR_INDEXNOW_ENDPOINTS": indexnow.url,
                "ATR_INDEX_SITE": "https://example.com",
                "ATR_GA4_DROP_DIR": str(tmp / "ga4drop"),
                "NO_PROXY": "127.0.0.1,localhost", "REDIS_URL": redis_server.url,
                "ATR_DOCLOG_ROOT": str(tmp / "logs"), "ATR_METRICS_WORKER1_PORT": "0",
                "ATR_METRICS_WORKER2_PORT": "0", "BRIDGE_BASE": wordpress.base_url,
                "BRIDGE_TOKEN": wordpress.token,
                "ATR_BG_PATH": str(ROOT / "ops" / "assets" / "thumb-bg.jpg"),
                "ATR_THUMB_FONT": str(FONT), "ATR_THUMB_OUT_DIR": str(tmp / "thumbs"),
                "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "4",
                "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}
        groups = (GroupProcess("worker1", env, tmp / "w1.log", cwd=tmp),
                  GroupProcess("worker2", env, tmp / "w2.log", cwd=tmp))
        for group in groups:
            group.start()
        try:
            yield System(client, tmp / "logs", wordpress, indexnow, env, groups)
        finally:
            for group in groups:
                if group.poll() is None:
                    group.stop()
            client.close()


def final_lines(root: Path, stream: str, ids: set[str], timeout: float) -> list[dict[str, Any]]:
    """Every line of ``stream`` once each id in ``ids`` has its final one (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(raw) for name in (stream, ENVELOPE)
                 for path in sorted((root / name).glob("*.ndjson"))
                 for raw in path.read_bytes().splitlines()]
        done = {ln["message_id"] for ln in lines if ln["event"] in FINAL}
        if ids <= done or time.monotonic() > deadline:
            return lines
        time.sleep(1.0)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", CASES, ids=[c.actor for c in CASES])
def test_generated_payloads_never_crash_retry_coerce_or_call_out(
        case: ActorCase, system: System, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    generated = generate(case)
    assert len(generated) >= EXAMPLES
    requests_before = len(system.wordpress.requests)
    submissions_before = len(system.indexnow.submissions)
    broker = producer_broker(Settings.from_env({"REDIS_URL": system.env["REDIS_URL"]}))
    actor = broker.get_actor(case.actor)
    sent: dict[str, Any] = {}  # message_id -> kwargs
    for payload in generated:
        sent[raw_send(system.client, case.queue, case.actor, payload)] = payload
        # Dramatiq's producer sends a falsy kwargs ([], "", 0, null) as {}: what
        # went on the wire is the message's own kwargs.
        message = actor.send_with_options(kwargs=payload)
        sent[message.message_id] = message.kwargs
    broker.close()

    # atr send, in-process: it refuses a payload whose keys do not fit (nothing is
    # enqueued) and enqueues the others for the workers to judge.
    from ops.cli import main

    for key in ("REDIS_URL", "ATR_DOCLOG_ROOT"):
        monkeypatch.setenv(key, system.env[key])
    for payload in generated[::ATR_SEND_EVERY]:
        # On stdin: a payload such as -5 would be an option on the command line.
        monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(payload)))
        code = main(["send", case.actor, "-"])
        out, err = capsys.readouterr()
        if code == 0:
            sent[out.strip().rsplit("=", 1)[1]] = payload
        else:
            assert code == 2 and not is_valid(case, payload), (payload, err)

    lines = final_lines(system.root, case.stream, set(sent), timeout=600)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_id.setdefault(line["message_id"], []).append(line)
    missing = [mid for mid in sent if not any(ln["event"] in FINAL for ln in by_id.get(mid, []))]
    assert not missing, f"{len(missing)} of {len(sent)} messages have no final doclog line"

    valid_post_ids: set[int] = set()
    valid_urls: set[str] = set()
    for message_id, payload in sent.items():
        moved = [ln for ln in by_id[message_id] if ln["stream"] == ENVELOPE]
        if moved:
            # A raw body whose kwargs is not an object is not a message: moved
            # aside once, before any actor (or its started line).
            assert type(payload) is not dict and not is_valid(case, payload), payload
            assert [ln["event"] for ln in by_id[message_id]] == ["moved_aside"], payload
            assert moved[0]["reason"] == "bad_field", moved[0]
            continue
        events = [ln for ln in by_id[message_id] if "." not in ln["event"]]
        if case.events_only_if_valid and not is_valid(case, payload):
            domain = [ln["event"] for ln in by_id[message_id] if "." in ln["event"]]
            assert not domain, (payload, domain)
        # A message waiting for a run lock (ga4_score) is deferred and started
        # again: not a retry (the attempt stays 1), and not a refusal.
        events = [ln for i, ln in enumerate(events) if ln["event"] != "deferred"
                  and not (i and events[i - 1]["event"] == "deferred")]
        names = [ln["event"] for ln in events]
        final = events[-1]
        assert "failed" not in names, (payload, names)  # no retry, ever
        assert all(ln["attempt"] == 1 for ln in events), (payload, names)
        started = events[0]
        assert started["event"] == "started"
        # As sent, type for type (the doclog keeps it whole unless the line was
        # cut; a secret-named key's value shows as [REDACTED], as on any line).
        if not started.get("truncated"):
            assert canonical(started["kwargs"]) == canonical(as_logged(payload)), payload
        payload_error = final["event"] == "rejected" and final["error"].startswith(
            "PayloadError:")
        if is_valid(case, payload):
            assert not payload_error, (payload, final["error"])
            if "post_id" in payload:
                valid_post_ids.add(payload["post_id"])
            valid_post_ids.update(payload.get("post_ids") or ())
            valid_urls.update(payload.get("urls") or ())
        else:
            assert payload_error, (payload, names, final.get("error"))
            assert names == ["started", "rejected"]

    # The only external calls are for valid payloads' posts (a generated id
    # can be one of the stand-in's posts: then the job runs, with its media
    # and tag requests).
    asked = [r.path for r in system.wordpress.requests[requests_before:]]
    ids_asked = {int(m.group(1)) for path in asked
                 if (m := re.search(r"/posts/(\d+)", path))}
    assert ids_asked <= valid_post_ids, sorted(ids_asked - valid_post_ids)[:5]
    if case.actor == "index_sweep":
        # The sweep lists posts (no id in the path); its index.swept lines are of
        # valid payloads only (checked above).
        assert not ids_asked
        if not any(is_valid(case, p) for p in sent.values()):
            assert asked == []
    elif not valid_post_ids:
        assert asked == []

    # IndexNow is asked only for URLs of valid index_submit payloads (and, for
    # the sweep, for the posts it found).
    submitted = [u for sub in system.indexnow.submissions[submissions_before:]
                 for u in sub.urls]
    if case.actor == "index_submit":
        assert set(submitted) <= valid_urls, sorted(set(submitted) - valid_urls)[:5]
        assert all(sub.status == 200
                   for sub in system.indexnow.submissions[submissions_before:])
    elif case.actor != "index_sweep" and not valid_post_ids:
        # A valid fi_pipeline/seo_apply payload may ask for its post's URL to be
        # indexed once it changed the post; with no valid payload nothing is sent.
        assert submitted == []

    # Both groups are alive and their logs show no crash.
    for group in system.groups:
        assert group.poll() is None, group.log_text()[-3000:]
        log = group.log_text()
        for sign in ("unhandled exception", "Consumer encountered an unexpected error",
                     "Logging error", "You've found a bug in Dramatiq"):
            assert sign not in log, log[log.index(sign) - 2000:log.index(sign) + 500]


def test_the_groups_stop_cleanly_after_every_generated_payload(system: System) -> None:
    # Runs after the cases above (pytest keeps file order): a clean SIGTERM exit
    # means no worker thread or consumer died on the way.
    for group in system.groups:
        assert group.poll() is None
        assert group.stop() == 0, group.log_text()[-3000:]
