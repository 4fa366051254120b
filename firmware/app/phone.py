"""Phone: one asyncio loop; events -> update -> effects; the screen redrawn from the model."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, assert_never

from firmware.audio import tones
from firmware.audio.call_audio import CallAudio
from firmware.audio.call_mic import CallMic
from firmware.core import effects as fx
from firmware.core import events as ev
from firmware.core.calls import audio_route, noise_removal, sidetone_route, voice_target
from firmware.core.effects import Effect, PlayTone, SaveSettings, StopTone
from firmware.cc.protocol import MAX_LOG_PART
from firmware.core.model import DeviceInfo, Model, Settings
from firmware.core.update import update
from firmware.ui.glyphs import GLYPHS
from firmware.ui.view import Frame, render

from . import logbook
from .storage import storage_full

if TYPE_CHECKING:                # baresip's library loads only on phones configured for SIP
    from firmware.cc.connection import CcConnection
    from firmware.sip.stack import SipStack

    from .storage import StorageWatch

log = logging.getLogger("hardphone")

NETWORK_CHECK_S = 10


class Phone:
    def __init__(self, devices, store, info: DeviceInfo, key_names, primary_ip=lambda: None):
        self.devices, self.store, self.key_names = devices, store, frozenset(key_names)
        self.cc: CcConnection | None = None        # the contact-center link, when configured
        self.sip: SipStack | None = None           # when configured
        self.storage: StorageWatch | None = None   # over the state dir
        self.call_audio = CallAudio(devices)     # the far end, on the route the agent chose
        # the agent's voice, to the call, with the echo of what call_audio plays taken out
        # (and each mic's card clock measured, which call_audio's playout follows too)
        self.call_mic = CallMic(devices, self._speak, played=self.call_audio.played,
                                clocks=self.call_audio.clocks)
        self._primary_ip = primary_ip
        # what an emergency call carries: Priority, the location (firmware/sip/location.py)
        self.emergency_headers: dict[str, str] = {}
        self.model = Model(info=info, settings=store.load(), now=time.time())
        self._queue: asyncio.Queue = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shown: Frame | None = None
        self._tones: dict[str, threading.Event] = {}     # route -> stop flag of what plays
        self._tasks: list[asyncio.Task] = []
        self.handled_at = time.monotonic()     # the last event handled: the watchdog's pulse
        # the recent log a `Send logs` uploads, and what must never leave the phone in it (the
        # config's PIN and SIP password; a PIN typed at login is added as it is used)
        self.recent_log = logbook.install(logging.getLogger())
        self.log_secrets: set[str] = set()

    # -- events in ----------------------------------------------------------------------------
    def post(self, event):
        """Queue an event; safe from any thread (device callbacks run on their own)."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def _wire_devices(self):
        d = self.devices
        d.keypad.when_key = lambda k: self.post(ev.Key(k.key, k.kind))
        d.hook.when_lifted = lambda: self.post(ev.Hook(True))
        d.hook.when_replaced = lambda: self.post(ev.Hook(False))

    async def settle(self):
        """Wait until every queued event is handled and its frame is on the display."""
        await asyncio.sleep(0)     # events posted from other threads just now: into the queue
        await self._queue.join()
        await asyncio.to_thread(self.devices.lcd.wait_idle)

    # -- the loop -----------------------------------------------------------------------------
    async def start(self):
        """Bring the devices to the boot screen and start handling events."""
        self._loop = asyncio.get_running_loop()
        for slot, (bitmap, stand_in) in GLYPHS.items():
            self.devices.lcd.define_glyph(slot, bitmap, stand_in)
        self._present()
        self._wire_devices()
        if self.devices.hook.is_lifted:
            self.post(ev.Hook(True))
        self._tasks = [self._loop.create_task(self._handle_events(), name="events"),
                       self._loop.create_task(self._tick(), name="clock"),
                       self._loop.create_task(self._watch_network(), name="network")]

    async def boot(self):
        self.post(ev.Booted())
        await self.settle()

    async def _handle_events(self):
        while True:
            event = await self._queue.get()
            try:
                self._handle(event)
            finally:
                self._queue.task_done()
                self.handled_at = time.monotonic()

    def _handle(self, event):
        try:
            self.model, effects = update(self.model, event)
            self._present()
        except Exception:                      # a bad rule must not stop the phone
            log.exception("while handling %r", event)
            return
        for effect in effects:
            try:
                self._carry_out(effect)
            except Exception:                  # nor one failed effect the ones after it
                log.exception("while carrying out %r", effect)

    async def _tick(self):
        while True:
            now = time.time()
            self.post(ev.Tick(now))
            await asyncio.sleep(1 - now % 1 + 0.001)   # on the second, so the clock flips on time

    async def _watch_network(self):
        last = object()
        while True:
            ip = await asyncio.to_thread(self._primary_ip)
            if ip != last:
                last = ip
                self.post(ev.NetworkChanged(ip))
            await asyncio.sleep(NETWORK_CHECK_S)

    def hear(self, call: str, samples: bytes):
        """A call's received audio (from the SIP stack): played if that call is the one the
        agent talks on (a held call's far end is silent anyway)."""
        current = self.model.call(call)
        if current is not None and current.state == "talking":
            self.call_audio.feed(samples)

    def _speak(self, call: str, samples: bytes):
        """The agent's voice for ``call``, on the mic's thread."""
        sip = self.sip
        if sip is not None:
            sip.send_audio(call, samples, self.devices.audio.rate,
                           following=self.call_mic.following, jitter_s=self.call_mic.jitter_s)

    # -- out to the devices -------------------------------------------------------------------
    def _present(self):
        frame, shown = render(self.model), self._shown
        d = self.devices
        if shown is None or frame.rows != shown.rows:
            d.lcd.show(frame.rows)
        if shown is None or frame.backlight != shown.backlight:
            d.lcd.backlight = frame.backlight
        if shown is None or frame.contrast != shown.contrast:
            d.lcd.contrast = frame.contrast
        if shown is None or frame.leds != shown.leds:
            for name, mode in frame.leds:
                d.leds.set(name, mode)
        self._shown = frame
        route = audio_route(self.model)
        level = self.model.settings.volume(route) if route else 0
        self.call_audio.route(route, level)
        self.call_mic.noise_removal, self.call_audio.noise_removal = noise_removal(self.model)
        self.call_mic.to(voice_target(self.model))
        self.devices.audio.sidetone(sidetone_route(self.model))

    def _carry_out(self, effect: Effect) -> None:
        """One case per kind of effect (firmware.core.effects.Effect lists them all)."""
        match effect:
            case PlayTone():
                self._play(effect)
            case StopTone(route=route):
                stop = self._tones.pop(route, None)
                if stop:
                    stop.set()
            case SaveSettings(settings=settings):
                self._spawn(self._save(settings))
            case fx.MeasureCall(call=call, contact=contact, problem=problem):
                quality = self.sip.quality(call) if self.sip is not None else None
                self.post(ev.CallMeasured(contact, problem, None if quality is None
                                          else ev.CallQuality(**asdict(quality))))
            case fx.CollectLogs(upload=upload):
                self._spawn(self._collect_logs(upload))
            case (fx.CcLogin() | fx.CcSetState() | fx.CcAccept() | fx.CcReject() | fx.CcCallEvent()
                  | fx.CcWrapUp() | fx.CcLogout() | fx.CcDial() | fx.CcGetDirectory()
                  | fx.CcFavoriteAdd() | fx.CcFavoriteRemove() | fx.CcConsult() | fx.CcTransfer()
                  | fx.CcExitConsult() | fx.CcConference() | fx.CcExitConference()
                  | fx.CcPauseRecording() | fx.CcResumeRecording() | fx.CcSetVariable()
                  | fx.CcGetVariable() | fx.CcPreview() | fx.CcReschedule()
                  | fx.CcPlayMessage() | fx.CcScheduleCallback() | fx.CcEditCallback()
                  | fx.CcDeleteCallback() | fx.CcListCallbacks() | fx.CcRequestHelp()
                  | fx.CcCancelHelp() | fx.CcQualityReport() | fx.CcLogUpload()
                  | fx.CcScheduleFollowUp() | fx.CcFollowUpDone() | fx.CcConnectApp()
                  | fx.CcSetForwarding()):
                # the link turns each into its protocol message (firmware.cc), queued if offline
                if isinstance(effect, fx.CcLogin):
                    self.log_secrets.add(effect.pin)
                if isinstance(effect, fx.CcReject) and effect.why:     # the phone's own reject
                    log.info("offer %s turned down: %s", effect.contact, effect.why)
                if self.cc is None:
                    log.warning("no contact-center link configured: %r not sent", effect)
                else:
                    self.cc.request(effect)
            case fx.SipAnswer(call=call):
                self._to_sip(effect, lambda sip: sip.answer(call))
            case fx.SipHold(call=call):
                self._to_sip(effect, lambda sip: sip.hold(call))
            case fx.SipResume(call=call):
                self._to_sip(effect, lambda sip: sip.resume(call))
            case fx.SipHangup(call=call):
                self._to_sip(effect, lambda sip: sip.hangup(call))
            case fx.SipRefuse(call=call, contact=contact, why=why):
                self._to_sip(effect, lambda sip: sip.refuse(call, contact, why))
            case fx.SipDtmf(call=call, digits=digits):
                self._to_sip(effect, lambda sip: sip.send_dtmf(call, digits))
            case fx.SipDial():
                self._spawn(self._dial(effect))
            case _:
                assert_never(effect)

    async def _collect_logs(self, upload: str) -> None:
        """The recent log, redacted off the loop (half a megabyte of regexes), in parts."""
        revealed = self.model.revealed
        secrets = self.log_secrets | ({revealed.value} if revealed is not None else set())
        text = self.recent_log.text()
        redacted = await asyncio.to_thread(logbook.redact, text, secrets)
        self.post(ev.LogsCollected(upload, tuple(logbook.parts(redacted, MAX_LOG_PART))))

    async def _dial(self, effect: fx.SipDial) -> None:
        """Place the call; the core learns the stack's name for it before any of its events."""
        if effect.emergency:
            log.warning("EMERGENCY call to %s", effect.number)
        if self.sip is None:
            self.post(ev.SipDialed(effect.call, error="no SIP configured"))
            return
        headers = (self.emergency_headers if effect.emergency
                   else {"X-CC-Contact-Id": effect.contact} if effect.contact else {})
        try:
            call = await self.sip.dial(effect.number, headers)
        except ValueError as e:
            log.warning("not dialed: %s", e)
            self.post(ev.SipDialed(effect.call, error=str(e)))
            return
        self.post(ev.SipDialed(effect.call, call))

    def _to_sip(self, effect: fx.SipEffect,
                command: Callable[[SipStack], Coroutine[Any, Any, None]]) -> None:
        """Run ``command(sip stack)`` on the loop; said in the log when SIP is not configured."""
        if self.sip is None:
            log.warning("no SIP configured: %s not done", type(effect).__name__)
        else:
            self._spawn(command(self.sip))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the phone's loop (effects come from it, after start())."""
        assert self._loop is not None, "the phone is not started"
        self._loop.create_task(work)

    def _play(self, effect: PlayTone):
        previous = self._tones.pop(effect.route, None)
        if previous:
            previous.set()
        stop = threading.Event()
        self._tones[effect.route] = stop
        rate = self.devices.spec.audio_rate
        samples = (tones.auto_answer_beeps(effect.level, rate) if effect.tone == "auto_answer"
                   else tones.ring_cycle(effect.level, rate=rate))
        repeat = effect.tone == "ring"         # a call rings until answered; the test ring once

        def play_out():
            while self.devices.audio.play(effect.route, samples, stop) and repeat:
                pass

        async def play():
            try:
                await asyncio.to_thread(play_out)
            except Exception as e:             # noqa: BLE001 - a sound device fault is logged, not fatal
                log.error("cannot play %s on %s: %s", effect.tone, effect.route, e)
            current = self._tones.get(effect.route)
            if current is stop:
                del self._tones[effect.route]
            if current in (stop, None):        # not replaced by a newer tone on this route
                self.post(ev.ToneFinished(effect.tone))

        self._spawn(play())

    async def _save(self, settings: Settings) -> None:
        error = None
        try:
            await asyncio.to_thread(self.store.save, settings)
        except OSError as e:
            error = e
            log.error("settings not saved: %s", e)
        if self.storage is not None:
            self.storage.report(error)
        if error is not None:
            self.post(ev.SettingsNotSaved(full=storage_full(error)))

    async def stop(self):
        for stop in self._tones.values():
            stop.set()
        await asyncio.to_thread(self.call_audio.close)
        await asyncio.to_thread(self.call_mic.close)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

