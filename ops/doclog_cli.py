"""``doclog_today`` and ``doclog_tail`` (also ``atr doclog today|tail``): read the evidence.

    doclog_today STREAM [--date YYYY-MM-DD] [--json]
    doclog_tail [-f] [-n N] [STREAM ...] [--json]

One readable line per record by default (see :mod:`ops.doclog_view`);
``--json`` prints the lines exactly as stored, for ``jq``. Only
ATR_DOCLOG_ROOT and ATR_TZ matter: Redis is never contacted.

Exit codes, as for ``atr``: 0 done (``tail -f``: stopped by SIGINT or
SIGTERM); 1 nothing stored for what was asked (a day without a file, no
stream yet) or a file that cannot be read; 2 bad usage, an unknown stream or
bad settings.
"""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from ops.common import Exit
from ops.doclog_view import format_record, wants_colour
from pipeline.doclog import Record, follow, last_records, list_days, list_streams, read_day
from pipeline.errors import AtrError
from pipeline.settings import load_doclog_location, process_environ

__all__ = ["add_parsers", "tail_main", "today_main"]

_DEFAULT_LINES: Final = 20
_DAYS_SHOWN: Final = 5
_TODAY: Final = ("Print one doclog stream's lines of a day, one readable line each "
                 "(time, event, actor, message id, attempt, duration, error).")
_TAIL: Final = ("Print the last doclog lines of streams (all by default), merged by time; "
                "-f keeps following them across midnight and rotation until Ctrl-C or SIGTERM.")
_EPILOG: Final = ("Reads ATR_DOCLOG_ROOT (days in ATR_TZ); never needs Redis. Exit codes: "
                  "0 done, 1 nothing stored for what was asked, 2 bad usage, unknown stream "
                  "or bad settings.")


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doclog today`` and ``doclog tail`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser("doclog", help="read the doclog evidence: a day, or the tail",
                                   description="Read the workers' doclog evidence.",
                                   epilog=_EPILOG)
    sub = parser.add_subparsers(dest="doclog_command", required=True, metavar="COMMAND")
    _today_options(sub.add_parser("today", help="a stream's lines of today (or --date)",
                                  description=_TODAY, epilog=_EPILOG), "atr doclog today")
    _tail_options(sub.add_parser("tail", help="the last lines of streams; -f to follow",
                                 description=_TAIL, epilog=_EPILOG), "atr doclog tail")


def today_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``doclog_today`` console script."""
    parser = argparse.ArgumentParser(prog="doclog_today", description=_TODAY, epilog=_EPILOG)
    _today_options(parser, "doclog_today")
    return _cmd_today(parser.parse_args(argv))


def tail_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``doclog_tail`` console script."""
    parser = argparse.ArgumentParser(prog="doclog_tail", description=_TAIL, epilog=_EPILOG)
    _tail_options(parser, "doclog_tail")
    return _cmd_tail(parser.parse_args(argv))


def _today_options(parser: argparse.ArgumentParser, prog: str) -> None:
    parser.add_argument("stream", metavar="STREAM", help="the stream, e.g. ping_seo")
    parser.add_argument("--date", type=_day, default=None, metavar="YYYY-MM-DD",
                        help="another day than today (in ATR_TZ); rotated .gz days too")
    parser.add_argument("--json", action="store_true",
                        help="the NDJSON lines exactly as stored, for jq")
    parser.set_defaults(handler=_cmd_today, doclog_prog=prog)


def _tail_options(parser: argparse.ArgumentParser, prog: str) -> None:
    parser.add_argument("streams", nargs="*", metavar="STREAM", help="default: every stream")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new lines until Ctrl-C or SIGTERM")
    parser.add_argument("-n", "--lines", type=_count, default=_DEFAULT_LINES, metavar="N",
                        help=f"how many of the last lines to print first (default "
                             f"{_DEFAULT_LINES})")
    parser.add_argument("--json", action="store_true",
                        help="the NDJSON lines exactly as stored, for jq")
    parser.set_defaults(handler=_cmd_tail, doclog_prog=prog)


def _cmd_today(args: argparse.Namespace) -> int:
    return _guarded(args.doclog_prog, lambda: _today(args))


def _cmd_tail(args: argparse.Namespace) -> int:
    return _guarded(args.doclog_prog, lambda: _tail(args))


def _guarded(prog: str, command: Callable[[], int]) -> int:
    """Run ``command``; its expected failures become one line on stderr and an exit code."""
    try:
        return command()
    except AtrError as exc:  # settings
        return _fail(prog, str(exc), Exit.USAGE)
    except BrokenPipeError:
        # `doclog_today x | head`: the reader has all it wanted. Point stdout
        # at /dev/null so that the interpreter's final flush does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return Exit.OK
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(prog, f"cannot read{where}: {exc.strerror or exc}; check that "
                     "ATR_DOCLOG_ROOT is right and readable by this user", Exit.PROBLEM)


def _today(args: argparse.Namespace) -> int:
    settings = load_doclog_location()
    root, zone = settings.root, settings.zone
    stream: str = args.stream
    problem = _unknown_streams([stream], list_streams(root), root)
    if problem:
        return _fail(args.doclog_prog, problem, Exit.USAGE)
    today = datetime.now(zone).date()
    day: date = args.date or today
    days = list_days(root, stream)
    if day not in days:
        when = f"today ({day}, {settings.tz})" if day == today else f"on {day}"
        return _fail(args.doclog_prog, f"{stream} has no lines {when}; {_days_text(days)}",
                     Exit.PROBLEM)
    _print_all(read_day(root, stream, day), _Printer(args, zone, show_stream=False))
    return Exit.OK


def _tail(args: argparse.Namespace) -> int:
    settings = load_doclog_location()
    root, zone = settings.root, settings.zone
    named = list(dict.fromkeys(args.streams))
    existing = list_streams(root)
    problem = _unknown_streams(named, existing, root)
    if problem:
        return _fail(args.doclog_prog, problem, Exit.USAGE)
    chosen = named or existing
    printer = _Printer(args, zone, show_stream=len(chosen) != 1 or not named)
    if args.follow:
        _follow(root, named or None, zone, args.lines, printer)
    elif not chosen:
        return _fail(args.doclog_prog, _no_streams(root), Exit.PROBLEM)
    else:
        _print_all(last_records(root, chosen, args.lines), printer)
    return Exit.OK


def _follow(root: Path, streams: list[str] | None, zone: ZoneInfo, backlog: int,
            printer: _Printer) -> None:
    stopping = threading.Event()
    # Only this thread touches the event otherwise (is_set takes no lock), so
    # setting it from a signal handler cannot deadlock.
    previous = {sig: signal.signal(sig, lambda _sig, _frame: stopping.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for record in follow(root, streams, zone, stopping.is_set, backlog=backlog):
            printer.write(record)
            printer.flush()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Printer:
    """Writes records to stdout: readable lines, or the stored bytes with ``--json``."""

    def __init__(self, args: argparse.Namespace, zone: ZoneInfo, *, show_stream: bool) -> None:
        self.prog: str = args.doclog_prog
        self.json: bool = args.json
        self.zone = zone
        self.show_stream = show_stream
        self.colour = not self.json and wants_colour(sys.stdout, process_environ())

    def write(self, record: Record) -> None:
        if not self.json:
            today = datetime.now(self.zone).date()  # per line: tail -f crosses midnight
            sys.stdout.write(format_record(record, self.zone, today, colour=self.colour,
                                           show_stream=self.show_stream) + "\n")
        elif record.ok:
            sys.stdout.buffer.write(record.raw if record.raw.endswith(b"\n")
                                    else record.raw + b"\n")
        else:
            # Kept off stdout so that jq still gets only JSON.
            print(f"{self.prog}: skipped an unreadable line at {record.where()}: "
                  f"{record.problem}", file=sys.stderr, flush=True)

    def flush(self) -> None:
        sys.stdout.flush()


def _print_all(records: Iterable[Record], printer: _Printer) -> None:
    for record in records:
        printer.write(record)
    printer.flush()


def _unknown_streams(named: Sequence[str], existing: Sequence[str], root: Path) -> str | None:
    unknown = [s for s in named if s not in existing]
    if not unknown:
        return None
    if not existing:
        return _no_streams(root)
    close = difflib.get_close_matches(unknown[0], existing, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (f"no stream {unknown[0]!r} under {root.absolute()}{hint}; streams: "
            + ", ".join(existing))


def _no_streams(root: Path) -> str:
    return (f"no doclog streams exist yet under {root.absolute()}; ATR_DOCLOG_ROOT decides "
            "where they are read (workers write there once they process messages)")


def _days_text(days: Sequence[date]) -> str:
    if not days:
        return "it has no days at all"
    recent = ", ".join(str(d) for d in reversed(days[-_DAYS_SHOWN:]))
    earlier = len(days) - _DAYS_SHOWN
    more = f" and {earlier} earlier, back to {days[0]}" if earlier > 0 else ""
    return f"days with lines: {recent}{more}"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of lines, got {text!r}")
    return value


def _fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return code


def _main(argv: Sequence[str]) -> int:
    commands = {"today": today_main, "tail": tail_main}
    if not argv or argv[0] not in commands:
        print("usage: python -m ops.doclog_cli {today,tail} ...", file=sys.stderr)
        return Exit.USAGE
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
