"""Keeping the phone registered, and telling the agent when it is not.

baresip refreshes a registration by itself and reports each refresh's answer. A registrar that
vanishes, though, only surfaces when the refresh transaction times out (32 s on UDP), so this
watches the refreshes: when none has been confirmed within the registration interval, it
re-registers itself with a short answer timeout. Failures are retried forever, 1 s doubling to
30 s. Registration traffic never touches calls: they keep their own dialogs and media.
"""
from __future__ import annotations

import asyncio
import logging
import random

from baresip import BaresipError, Event, RegistrationError
from baresip.errors import split_status

from firmware.core.events import SipRegistration

log = logging.getLogger("hardphone.sip")

ANSWER_TIMEOUT_S = 5.0       # a registrar that has not answered a REGISTER by now is gone
RETRY_FIRST_S = 1.0
RETRY_CAP_S = 30.0


def failure_detail(status: int | None, reason: str, registrar: str) -> str:
    """A short line for the agent: "401 Unauthorized", "no answer from 127.0.0.1:5062"."""
    if status:
        return f"{status} {reason}".strip()
    if not reason or "timed out" in reason.lower() or reason.startswith("Connection refused"):
        return f"no answer from {registrar}"      # refused: over TCP/TLS, a registrar gone
    if reason.startswith("Protocol error"):
        # EPROTO: the TLS handshake failed, mostly a proxy certificate that the CA did not
        # sign or that names another host (the stack's log line says which)
        return "TLS failed"
    return reason


class Registration:
    """Registers ``ua`` and keeps it registered; posts SipRegistration events."""

    def __init__(self, runtime, ua, registrar: str, reg_interval: int, post):
        self._runtime, self._ua, self._registrar = runtime, ua, registrar
        self._interval, self._post = reg_interval, post
        self._refreshed = asyncio.Event()   # the stack reported a refresh's answer
        self._refresh_failure: str | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._runtime.subscribe(self._on_stack_event)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sip-registration")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._runtime.unsubscribe(self._on_stack_event)

    def _on_stack_event(self, event) -> None:
        if event.ua != self._ua.handle:
            return
        if event.event is Event.REGISTER_OK:
            self._refreshed.set()
        elif event.event is Event.REGISTER_FAIL:
            self._refresh_failure = failure_detail(*split_status(event.text or ""),
                                                   self._registrar)
            self._refreshed.set()

    async def _run(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            self._post(SipRegistration("registering"))
            detail = await self._register()
            if detail is None:
                self._post(SipRegistration("registered"))
                log.info("registered at %s", self._registrar)
                delay = RETRY_FIRST_S
                detail = await self._until_lost()
            log.warning("registration at %s failed: %s", self._registrar, detail)
            self._post(SipRegistration("failed", detail))
            # jitter: phones that lost the same registrar do not return in step
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RETRY_CAP_S)

    async def _register(self) -> str | None:
        """One REGISTER; None when it succeeded, else why not."""
        try:
            await self._ua.register(timeout=ANSWER_TIMEOUT_S)
            return None
        except RegistrationError as e:
            return failure_detail(e.status, e.reason, self._registrar)
        except BaresipError as e:       # the stack refused or stalled; still worth retrying
            return str(e)

    async def _until_lost(self) -> str:
        """Watch the stack's refreshes while registered; return why registration was lost."""
        while True:
            self._refreshed.clear()
            self._refresh_failure = None
            try:
                await asyncio.wait_for(self._refreshed.wait(), self._interval)
            except TimeoutError:
                # no refresh answered in a whole interval: ask ourselves, with a short timeout
                detail = await self._register()
                if detail is not None:
                    return detail
                continue
            if self._refresh_failure is not None:
                return self._refresh_failure
