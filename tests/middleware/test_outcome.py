"""One outcome vocabulary for Doclog, Sentry, Metrics and PermanentFailures."""

from __future__ import annotations

from middleware.outcome import FINAL_FAILURES, Outcome
from middleware.sentry import KIND_DEAD, KIND_REJECTED
from pipeline import doclog


def test_outcomes_are_the_doclog_event_names() -> None:
    assert {o.value for o in Outcome} == {
        doclog.EVENT_SUCCEEDED, doclog.EVENT_FAILED, doclog.EVENT_DEAD, doclog.EVENT_REJECTED,
        doclog.EVENT_DEFERRED, doclog.EVENT_SKIPPED}


def test_sentry_kinds_are_the_final_failures() -> None:
    assert {KIND_DEAD, KIND_REJECTED} == {o.value for o in FINAL_FAILURES}
