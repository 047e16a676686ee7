"""Image actors declare what they need from ImageMagick; a refusal rejects their messages.

An actor declares ``imagemagick_needs``: (coder, right) pairs or
:class:`~pipeline.imagemagick.Need` objects, or a function of the
:class:`~pipeline.settings.Settings` returning them (the output coder follows
ATR_THUMB_FORMAT)::

    @job(queue=names.THUMBNAILS, imagemagick_needs=lambda s: [("JPEG", "read"),
                                                             (s.thumb_format, "write")])

Every actor that declares needs draws text, so ATR_THUMB_FONT is checked for
it too (exists, single face, covers Hangul).

* At worker boot, the preflight runs once for all declared needs, the font
  and the resource limits, and logs ONE critical line per problem, naming the
  group and the actors concerned. The worker keeps running: its other queues
  are unaffected.
* Before each message of such an actor, the needs and the font are checked
  again (about 1-4 µs per coder right; the font check is cached per file
  version). A refusal fails the message at once: no retry, a doclog
  ``rejected`` line, the dead-letter queue, and an error naming the coder,
  the right, the policy file and the fix.

Why the check raises from inside the actor call, not from
``before_process_message``: Doclog writes ``rejected`` for a PermanentError
once Retries has failed the message, and Retries fails a message at once only
for an exception the ACTOR raised (it reads the actor's ``throws``). A
``SkipMessage`` would be recorded as ``skipped``; an exception raised from a
before-hook is logged by Dramatiq as an unhandled error with a traceback and
stops the later middleware's before-hooks. So, at declaration, this
middleware wraps the actor's function with the check, and the refusal is an
:class:`~pipeline.imagemagick.ImageMagickRefused` (a PermanentError) raised
before the actor's own code runs: every existing rule then applies unchanged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import dramatiq
from dramatiq import Actor
from dramatiq.middleware import Middleware, MiddlewareError

from pipeline.errors import ConfigError
from pipeline.imagemagick import (
    Finding,
    Need,
    check,
    check_font_setting,
    check_need,
    is_authorized,
)
from pipeline.settings import Settings

__all__ = ["IMAGEMAGICK_NEEDS_OPTION", "ImageMagickPolicy", "NeedsOptionError", "parse_needs"]

logger = logging.getLogger(__name__)

#: The actor option listing what an actor needs from ImageMagick.
IMAGEMAGICK_NEEDS_OPTION: Final = "imagemagick_needs"

NeedsValue = Iterable[Need | tuple[str, str]]


class NeedsOptionError(ConfigError, MiddlewareError):
    """Raised at declaration when an actor's ``imagemagick_needs`` is malformed.

    Also a MiddlewareError so that Dramatiq lets it out of the declare hook
    (it logs and swallows any other exception there) and the worker fails to boot.
    """


def parse_needs(value: Any, settings: Settings) -> tuple[Need, ...]:
    """The needs an ``imagemagick_needs`` option value declares; raise ConfigError if malformed."""
    if callable(value):
        value = value(settings)
    if isinstance(value, Need):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"{IMAGEMAGICK_NEEDS_OPTION} must be (coder, right) pairs or Need "
                          f"objects, e.g. [('WEBP', 'write')]; got {value!r}")
    needs: list[Need] = []
    for item in value:
        try:
            needs.append(item if isinstance(item, Need) else Need(*item))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{IMAGEMAGICK_NEEDS_OPTION}: bad need {item!r}: {exc}; "
                              "give (coder, right) with right 'read' or 'write'") from None
    return tuple(dict.fromkeys(needs))


class ImageMagickPolicy(Middleware):
    """Preflight at boot and a refusal check before each image message.

    ``group`` names the worker group in the boot lines (None in a producer,
    which declares actors but never runs them); ``environ`` is the process
    environment, which says which policy files MagickCore loaded.
    """

    def __init__(self, settings: Settings, group: str | None,
                 environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.group = group
        self.environ = dict(environ)
        # Written while actors are declared (before any worker thread starts),
        # read-only afterwards: no lock needed.
        self.needs: dict[str, tuple[Need, ...]] = {}

    @property
    def actor_options(self) -> set[str]:
        return {IMAGEMAGICK_NEEDS_OPTION}

    def before_declare_actor(self, broker: dramatiq.Broker, actor: Actor[Any, Any]) -> None:
        if IMAGEMAGICK_NEEDS_OPTION not in actor.options:
            return
        try:
            needs = parse_needs(actor.options[IMAGEMAGICK_NEEDS_OPTION], self.settings)
        except ConfigError as exc:
            raise NeedsOptionError(f"actor {actor.actor_name!r}: {exc}") from None
        if not needs:
            return
        self.needs[actor.actor_name] = needs
        actor.fn = self._guarded(actor.fn, needs)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Boundary: the preflight only reports; it must never stop a worker
        # whose other queues can run.
        try:
            self._preflight(broker)
        except Exception:
            logger.exception("The ImageMagick preflight of group %s failed to run; image "
                             "messages are still checked one by one.", self.group)

    def _preflight(self, broker: dramatiq.Broker) -> None:
        declared = {name: needs for name, needs in self.needs.items() if name in broker.actors}
        if not declared:
            return  # no image actor in this process: ImageMagick is never loaded
        all_needs = [need for needs in declared.values() for need in needs]
        for finding in check(all_needs, self.settings.thumb_font, environ=self.environ):
            if finding.ok:
                continue
            actors = sorted(name for name, needs in declared.items()
                            if finding.kind != "coder" or finding.subject in map(str, needs))
            consequence = {
                "limit": "a render that reaches it kills this worker process",
                "path": "their renders fail once images exceed the memory limits",
            }.get(finding.kind, "their messages are rejected until it is fixed and the "
                                "group restarted")
            logger.critical("ImageMagick preflight of group %s: %s. Actors %s: %s.",
                            self.group, finding.message, ", ".join(actors), consequence)

    def _guarded(self, fn: Callable[..., Any], needs: tuple[Need, ...]) -> Callable[..., Any]:
        """``fn`` that first raises the refusal of ``needs`` or of the font, if any."""

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            refusal = self._refusal(needs)
            if refusal is not None:
                raise refusal.error()
            return fn(*args, **kwargs)

        return guarded

    def _refusal(self, needs: tuple[Need, ...]) -> Finding | None:
        """The first problem with ``needs`` or the font, or None."""
        # Boundary: a failing check (Wand cannot load, say) must not reject a
        # message that might render; the render then fails with its own error.
        try:
            for need in needs:
                if not is_authorized(need.coder, need.right):
                    # Only a denial pays for finding the policy file to name.
                    return check_need(need, environ=self.environ)
            finding = check_font_setting(self.settings.thumb_font)
            return None if finding.ok else finding
        except Exception:
            logger.exception("The ImageMagick check of %s could not run; the message is "
                             "processed anyway.", ", ".join(map(str, needs)))
            return None
