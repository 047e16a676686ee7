"""Helpers for the Prometheus tests: scrape an exporter and read its samples."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int, timeout: float = 5) -> Samples:
    """``/metrics`` of 127.0.0.1:``port`` as (sample name, labels) -> value."""
    # No proxy: the exporter is local and the environment may name one.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """One sample's value, or None when it is absent."""
    return samples.get((name, frozenset(labels.items())))


def wait_scrape(port: int, done: Callable[[Samples], bool], timeout: float = 30) -> Samples:
    """Scrape until ``done(samples)`` (the exporter may still be starting); fails otherwise."""
    deadline = time.monotonic() + timeout
    samples: Samples = {}
    while time.monotonic() < deadline:
        try:
            samples = scrape(port)
        except (urllib.error.URLError, ConnectionError):
            samples = {}
        if done(samples):
            return samples
        time.sleep(0.1)
    raise AssertionError(f"the exporter on port {port} never showed the expected samples: "
                         f"{samples}")


def refused(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port``."""
    try:
        scrape(port, timeout=2)
    except (urllib.error.URLError, ConnectionError):
        return True
    return False
