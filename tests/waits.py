"""Waiting in tests for something to happen, instead of sleeping and hoping it has.

A test that sleeps a guessed time fails on a loaded CI machine (the guess was too short) and
wastes time on an idle one. These poll a condition until it holds and fail with what was
awaited and the last thing seen.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
EVERY_S = 0.01


def wait_until(check: Callable[[], T], timeout: float = 5.0, what: str = "the condition",
               every: float = EVERY_S) -> T:
    """``check()``'s first truthy result; an AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} "
                                 f"(last: {last!r})")
        time.sleep(every)


async def until(check: Callable[[], T | Awaitable[T]], timeout: float = 5.0,
                what: str = "the condition", every: float = EVERY_S) -> T:
    """``wait_until`` for a test's event loop: ``check`` may be a coroutine function, and the
    loop goes on running (the code under test runs on it) between looks."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} "
                                 f"(last: {last!r})")
        await asyncio.sleep(every)
