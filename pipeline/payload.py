"""Does a message's payload fit an actor? Shape, signature and types, checked strictly.

Every actor takes keyword arguments only, JSON-clean (docs/messages.md §7).
:func:`check_call` decides, before any actor code runs, whether a payload
can ever be accepted:

- ``args`` must be empty (a positional payload is a producer's bug, and
  Dramatiq would spread a string into characters);
- ``kwargs`` must be a JSON object with string keys, none of them ``self``
  (Dramatiq's ``Actor.__call__`` would take it for itself and raise a
  TypeError before any check of ours);
- every key must be a parameter of the actor, every required one present;
- every value must have its parameter's annotated type, without coercion:
  ``"1"`` is not an int, ``true`` is not ``1``, ``1.0`` is not an int.

A payload that fails is a :class:`~pipeline.errors.PayloadError`: rejected at
once, never retried. Annotations this module does not know (a class, a
``Literal``) are left to the actor's own checks.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final

from pipeline.errors import PayloadError
from pipeline.text import quote_value

__all__ = ["check_call", "describe_parameters"]

#: A parameter name no payload may carry (Dramatiq's Actor.__call__ owns it).
_RESERVED: Final = frozenset({"self"})
#: Longest value shown in an error, in characters of its ``repr``.
_SHOWN: Final = 60


def check_call(fn: Callable[..., Any], actor_name: str, args: Any, kwargs: Any, *,
               types: bool = True) -> None:
    """Raise PayloadError unless ``fn(*args, **kwargs)`` is a call the actor accepts.

    The error says what is wrong and what the actor takes. ``types=False``
    checks the shape and the keys only.
    """
    spec = _spec(fn)
    takes = describe_parameters(fn)
    where = f"payload does not fit {actor_name}"
    if not isinstance(args, list | tuple):
        raise PayloadError(f"{where}: args must be an empty JSON array, got {_kind(args)}; "
                           f"send the payload as kwargs; it takes: {takes}")
    if args:
        raise PayloadError(f"{where}: got {len(args)} positional argument(s), args must be "
                           f"empty; send them by name in kwargs; it takes: {takes}")
    if not isinstance(kwargs, Mapping):
        raise PayloadError(f"{where}: kwargs must be a JSON object of keyword arguments, "
                           f"got {_kind(kwargs)} {quote_value(kwargs, _SHOWN)}; "
                           f"it takes: {takes}")
    for key in kwargs:
        if not isinstance(key, str) or key in _RESERVED or key not in spec.parameters:
            raise PayloadError(f"{where}: got an unexpected keyword argument "
                               f"{quote_value(key, _SHOWN)}; it takes: {takes}")
    missing = [name for name in spec.required if name not in kwargs]
    if missing:
        raise PayloadError(f"{where}: missing a required argument: "
                           f"{', '.join(map(repr, missing))}; it takes: {takes}")
    for key, value in kwargs.items() if types else ():
        expected = spec.types.get(key)
        if expected is not None and not _matches(value, expected):
            # The same words as the actors' own value checks ("force must be
            # true or false, got 'yes'"): the key names the problem.
            raise PayloadError(f"{key} must be {_describe(expected)}, got "
                               f"{quote_value(value, _SHOWN)}")


def describe_parameters(fn: Callable[..., Any]) -> str:
    """``"post_id, force"``: the keyword arguments ``fn`` takes, for error messages."""
    return ", ".join(_spec(fn).parameters) or "no arguments"


class _Spec(typing.NamedTuple):
    parameters: tuple[str, ...]
    required: tuple[str, ...]
    types: dict[str, Any]


@functools.lru_cache(maxsize=256)
def _spec(fn: Callable[..., Any]) -> _Spec:
    signature = inspect.signature(fn)
    names = tuple(name for name, p in signature.parameters.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    required = tuple(name for name in names
                     if signature.parameters[name].default is inspect.Parameter.empty)
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no type checks
        hints = {}
    return _Spec(names, required, {n: hints[n] for n in names if n in hints})


def _matches(value: Any, expected: Any) -> bool:
    # JSON gives exactly these types: no coercion, bool is never an int.
    if expected is Any:
        return True
    if expected is type(None) or expected is None:
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arm) for arm in typing.get_args(expected))
    if origin is list or expected is list:
        item = (typing.get_args(expected) or (Any,))[0]
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict or expected is dict:
        key_type, item = typing.get_args(expected) or (Any, Any)
        return isinstance(value, dict) and all(
            _matches(k, key_type) and _matches(v, item) for k, v in value.items())
    return True  # not ours to judge: the actor checks it


def _describe(expected: Any) -> str:
    if expected is type(None) or expected is None:
        return "null"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if expected in names:
        return names[expected]
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(expected))
    if origin is list or expected is list:
        item = (typing.get_args(expected) or (Any,))[0]
        return "a list" if item is Any else f"a list of {_plural(item)}"
    if origin is dict or expected is dict:
        return "an object"
    return getattr(expected, "__name__", str(expected))


def _plural(item: Any) -> str:
    return {str: "strings", int: "integers", bool: "booleans", float: "numbers"}.get(
        item, _describe(item))


def _kind(value: Any) -> str:
    """The JSON name of a value's type (what a non-Python producer sent)."""
    if value is None:
        return "null"
    names = {bool: "boolean", int: "integer", float: "number", str: "string",
             list: "array", tuple: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)
