"""Tables of rules keyed by the type of what they handle (an event, a screen): the table's key
and the rule's parameter can't be related for a type checker, so each rule is entered through
``narrow``, which checks the value against its type when called."""
from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from .model import Model

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


def narrow(kind: type[T], rule: Callable[Concatenate[Model, T, P], R]
           ) -> Callable[Concatenate[Model, object, P], R]:
    """``rule`` for a table of ``kind``'s rules: a value of another type is a TypeError."""
    def run(m: Model, value: object, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not isinstance(value, kind):
            raise TypeError(f"{getattr(rule, '__name__', rule)!s} is for {kind.__name__}, "
                            f"not {type(value).__name__}")
        return rule(m, value, *args, **kwargs)
    return run


def rule_for(table: dict[type[T], R], kind: type[T]) -> R:
    """The rule for ``kind``: a kind without one is a LookupError, so a table nobody completed
    fails where it is used (and in tests/unit/test_registries.py) rather than doing nothing."""
    try:
        return table[kind]
    except KeyError:
        raise LookupError(f"no rule for {kind.__name__}") from None
