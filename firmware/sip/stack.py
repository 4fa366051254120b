"""SipStack: the phone's SIP user agent inside the phone's asyncio loop.

Stack events become core events (SipRegistration, SipIncoming, SipCallState) handed to
``post``; the app's SIP effects become ``dial``/``answer``/``hold``/``resume``/``hangup``.
Calls, incoming or placed, are named by strings (the stack's call handle). A command for a
call that is gone is logged and dropped: the far end hanging up while the agent presses a
key is ordinary telephony.

This module is the signalling; each call's audio and RTP counters are media.py's
(``send_audio`` and ``stats`` hand over to it).
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass

from baresip import (Account, BaresipError, Call, Config, Event, NoLocalAddressError, Runtime,
                     StaleHandleError, UserAgent)
from baresip.stats import CallStats

from firmware.core.events import SipCallState, SipIncoming, SipRegistration
from firmware.core.vocab import SipCallChange

from . import dialing, guard, trim
from .codec import CodecWatch
from .decoded import ReceivedAudio, decoded_format
from .config import (SipConfig, audio_codecs, audio_format_text, jitter_buffer_text,
                     tos)
from .media import CallMedia, receive_forever
from .quality import Quality, measure
from .registration import Registration

log = logging.getLogger("hardphone.sip")

CONTACT_HEADER = "X-CC-Contact-Id"
TOKEN_HEADER = "X-CC-Token"  # the contact's secret: binds the call to its offer; never logged
HOLD_ATTEMPTS = 10           # a re-INVITE in flight (baresip sends one just after answering)
HOLD_RETRY_S = 0.1
UNREGISTER_TIMEOUT_S = 1.0
# When the last call has ended its memory goes back to the system (sip/trim.py), in steps: the
# stack frees the calls' media just after reporting their end, their SIP transactions when the
# transactions' timers run out (5 s after an acknowledged final answer, 32 s without the ACK).
TRIM_AFTER_S = (2.0, 8.0, 34.0)
NO_ANSWER_S = 60.0           # a placed call still unanswered after this is given up

# baresip's close texts, in the agent's words
_END_REASONS = {
    "Connection reset by peer [104]": "remote hangup",     # the far end sent BYE
    # the far end had already ended the dialog when our re-INVITE (hold/resume, session
    # refresh) reached it: its BYE and our request crossed
    "481 Call Does Not Exist": "remote hangup",
    "rtp stream error": "no audio from the far end",        # rtp_timeout: the peer vanished
}


@dataclass
class _Call:
    call: Call
    contact: str
    peer: str
    media: CallMedia
    state: str = "ringing"         # "ringing" (incoming), "dialing" (placed), "established", "held"
    outbound: bool = False         # placed by the phone (dial)
    rang: bool = False             # placed, and the far end said it rings (reported once)
    end_reason: str = ""           # why the phone itself ended it, when not the agent's hangup
    no_answer: asyncio.TimerHandle | None = None
    local_hold: bool = False
    remote_hold: bool = False
    hung_up_here: bool = False
    dtmf_waiting: str = ""         # digits keyed, not yet handed to the stack
    dtmf_sender: asyncio.Task | None = None
    rtcp: CallStats | None = None  # the latest RTCP report's figures (a quality report's)


def user_part(uri: str | None) -> str:
    """'sip:+15551234567@10.0.0.1:5062;transport=udp' -> '+15551234567'."""
    if not uri:
        return ""
    uri = uri.strip().strip("<>")
    uri = uri.split(":", 1)[1] if uri.startswith(("sip:", "sips:", "tel:")) else uri
    return uri.split("@", 1)[0].split(";", 1)[0]


def tls_lines(c: SipConfig) -> str:
    """The stack's TLS settings: the proxy's certificate is always verified, against the
    config's CA or else the system's bundle, named here (the wheel's own OpenSSL need not
    look where Debian keeps it). The phone needs no certificate of its own: the proxy sends
    calls down the connection the phone registered on (its Contact names that connection)."""
    if c.transport != "tls":
        return ""
    system = ssl.get_default_verify_paths()
    if c.cafile is not None:            # quoted: a path may hold spaces
        trust = f"sip_cafile \"{c.cafile}\"\n"
    elif system.cafile:
        trust = f"sip_cafile \"{system.cafile}\"\n"
    else:
        trust = f"sip_capath \"{system.capath}\"\n"
    return trust + "sip_verify_server yes\n"


def dscp_lines(c: SipConfig) -> str:
    """The DiffServ marks, as the stack's TOS bytes: it sets them on its SIP sockets (UDP, and
    each TCP/TLS connection once it is up) and on each call's RTP and RTCP sockets."""
    return f"sip_tos {tos(c.dscp_sip)}\nrtp_tos {tos(c.dscp_rtp)}\n"


def jitter_buffer_lines(c: SipConfig) -> str:
    return jitter_buffer_text(c.jitter_buffer_ms, c.jitter_buffer_limit_ms)


def media_params(c: SipConfig) -> tuple[str, ...]:
    """SRTP mandatory: a call that offers plain RTP is refused (488) and never rings."""
    return ("mediaenc=srtp-mand",) if c.media == "srtp" else ()


class SipStack:
    def __init__(self, config: SipConfig, post, on_audio=None, rate: int = 8000):
        """``on_audio(call, pcm)``, if given, gets each call's received audio (mono S16_LE at
        ``rate``, the board's audio rate, whatever the codec) as it arrives, on the loop: the
        app plays it on the route the agent chose. At 16 kHz and up the phone offers wideband
        (G.722, Opus) before G.711 (config.audio_codecs)."""
        self.config, self._post, self._on_audio = config, post, on_audio
        self.rate = rate
        self._codecs = CodecWatch(audio_codecs(rate))
        self._received: dict[str, ReceivedAudio] = {}   # per call: the tap's audio -> ``rate``
        self._runtime: Runtime | None = None
        self._ua: UserAgent | None = None
        self._registration: Registration | None = None
        self._calls: dict[str, _Call] = {}
        self._rx_counter: asyncio.Task | None = None
        self._trim: asyncio.Task | None = None
        self._dialing = 0                       # dials whose INVITE is not sent yet
        self._early: dict[str, list] = {}       # their calls' events, come before dial returned
        self._tasks: set[asyncio.Task] = set()  # held here: the loop keeps only weak refs
        self._not_dialed_count = 0
        self._last_quality: tuple[str, Quality] | None = None   # the last call's, as it ended

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the stack and begin registering; raises only if the stack cannot start."""
        c = self.config
        host = c.listen.rsplit(":", 1)[0]
        runtime = Runtime()
        await runtime.start(Config(
            # pinned, because discovery skips loopback; a wildcard listen lets baresip choose
            net_interface=None if host in ("", "0.0.0.0") else host,
            # ringing and up: room for stacked offers (accept-all), a consult leg and an
            # emergency call; beyond it the stack answers 486 and spends nothing on the call
            max_concurrent_calls=c.max_calls,
            expose_headers=(CONTACT_HEADER, TOKEN_HEADER),
            rtp_timeout=c.rtp_timeout,
            sip_trace=True,             # read for each call's codec (codec.py), never logged
            # filter_registrar: baresip's own source-IP check (403), the fallback to guard.py
            extra_config_text=f"sip_listen {c.listen}\n"
                              + ("" if c.direct_calls else "filter_registrar udp\n")
                              + tls_lines(c) + dscp_lines(c) + jitter_buffer_lines(c)
                              + audio_format_text(self.rate)))
        self._codecs.attach()           # before the first SIP message: the UA's
        try:
            if not c.direct_calls:
                await self._admit_proxy_only()
            self._ua = await UserAgent.create(runtime, Account(
                user=c.user, domain=c.domain, password=c.password,
                reg_interval=c.reg_interval, transport=c.transport,
                audio_codecs=audio_codecs(self.rate), extra_params=media_params(c)))
        except BaseException:
            await runtime.close()
            self._codecs.detach()
            raise
        self._runtime = runtime
        runtime.subscribe(self._on_stack_event)
        runtime.on_dead = self._on_runtime_dead
        self._ua.on_incoming(self._on_incoming)
        self._registration = Registration(runtime, self._ua, c.domain, c.reg_interval,
                                          self._post)
        self._registration.start()
        self._rx_counter = asyncio.get_running_loop().create_task(receive_forever(
            lambda: (e.media for e in self._calls.values()),
            self._hear if self._on_audio else None))

    async def _admit_proxy_only(self) -> None:
        c = self.config
        try:
            filtered = await guard.admit_proxy_only(asyncio.get_running_loop(), c.domain,
                                                    int(c.listen.rsplit(":", 1)[1]))
        except guard.GuardError as e:
            log.error("SIP not limited to the proxy (%s): only baresip's source-IP check "
                      "refuses direct calls", e)
        else:
            log.info("SIP from the proxy only: %s", "; ".join(filtered))

    async def stop(self) -> None:
        """Unregister (briefly), close the stack; calls still up are ended (BYE) and reported."""
        runtime, self._runtime = self._runtime, None
        if runtime is None:
            return
        # set together with the runtime in start()
        assert self._rx_counter and self._registration and self._ua
        self._rx_counter.cancel()
        try:
            await self._registration.stop()
            await self._ua.unregister(timeout=UNREGISTER_TIMEOUT_S)
        except Exception as e:          # noqa: BLE001 - shutting down regardless
            log.info("unregister on stop: %s", e)
        finally:
            await runtime.close()
            self._codecs.detach()       # after: the stack writes no more SIP messages
            self._end_all("SIP stopped")
            if self._trim:
                self._trim.cancel()

    def _on_runtime_dead(self) -> None:
        log.critical("the SIP stack died; SIP needs a phone restart")
        self._post(SipRegistration("failed", "SIP stack died"))
        self._end_all("SIP stack died")

    def _end_all(self, reason: str) -> None:
        # after close, the Call objects never hear their CALL_CLOSED
        for call_id in list(self._calls):
            self._ended(call_id, reason)

    # -- stack events -> core events ----------------------------------------------------------
    def _on_incoming(self, call: Call) -> None:
        call_id = str(call.handle)
        headers = {k.lower(): v for k, v in call.headers.items()}
        entry = _Call(call, headers.get(CONTACT_HEADER.lower(), ""), user_part(call.peer),
                      CallMedia(call_id, call))
        self._calls[call_id] = entry
        self._follow_quality(entry)
        log.info("incoming call %s from %s (contact %r)", call_id, entry.peer, entry.contact)
        self._post(SipIncoming(call_id, entry.contact, entry.peer,
                               headers.get(TOKEN_HEADER.lower(), "")))

    def _on_stack_event(self, event) -> None:
        call_id = str(event.call)
        entry = self._calls.get(call_id)
        if entry is None:
            if self._dialing and event.call:      # on loopback a 180 beats dial() returning
                self._early.setdefault(call_id, []).append(event)
            return
        if event.event is Event.CALL_ESTABLISHED:
            entry.state = "established"
            if entry.no_answer:
                entry.no_answer.cancel()
            self._post(SipCallState(call_id, "established"))
        elif (event.event in (Event.CALL_RINGING, Event.CALL_PROGRESS) and entry.outbound
              and entry.state == "dialing" and not entry.rang):
            entry.rang = True
            self._post(SipCallState(call_id, "ringing"))
        elif event.event is Event.CALL_HOLD:
            entry.remote_hold = True
            self._set_hold_state(call_id, entry, "held")
        elif event.event is Event.CALL_RESUME:
            entry.remote_hold = False
            self._set_hold_state(call_id, entry, "resumed")
        elif event.event is Event.CALL_CLOSED:
            self._ended(call_id, self._end_reason(entry, event.text or ""))

    @staticmethod
    def _end_reason(entry: _Call, text: str) -> str:
        if entry.end_reason:                              # the phone gave up: no answer
            return entry.end_reason
        if entry.hung_up_here:
            return "local hangup"
        if entry.outbound and entry.state == "dialing":  # never answered: the far end's answer
            return dialing.failure_reason(text)
        return _END_REASONS.get(text, text)

    def _set_hold_state(self, call_id: str, entry: _Call, change: SipCallChange) -> None:
        entry.state = "held" if entry.local_hold or entry.remote_hold else "established"
        self._post(SipCallState(call_id, change))

    def _ended(self, call_id: str, reason: str) -> None:
        entry = self._calls.pop(call_id, None)
        if entry is not None:
            if entry.no_answer:
                entry.no_answer.cancel()
            log.info("call %s ended: %s", call_id, reason)
            closing = entry.call.final_stats or entry.rtcp
            if closing is not None:
                self._last_quality = (call_id, self._measure(call_id, entry, closing))
            self._codecs.forget(entry.call.call_id)
            self._received.pop(call_id, None)
            self._post(SipCallState(call_id, "ended", reason))
            if not self._calls:        # the last one: its memory goes back
                if self._trim:
                    self._trim.cancel()
                self._trim = asyncio.get_running_loop().create_task(self._trim_later())

    async def _trim_later(self) -> None:
        waited = 0.0
        for at in TRIM_AFTER_S:
            await asyncio.sleep(at - waited)
            waited = at
            if self._calls:            # calls again: the end of the last one starts over
                return
            trim.release_free_memory()

    def _hear(self, call_id: str, pcm: bytes) -> None:
        """The far end's audio as the tap gives it (the codec's rate) -> on_audio at ours."""
        entry = self._calls.get(call_id)
        if entry is not None and self._on_audio is not None:
            received = self._received.get(call_id)
            if received is None:
                if not pcm:
                    return
                received = self._received[call_id] = ReceivedAudio(self.rate)
            played = received.take(time.monotonic(), pcm,
                                   self._codecs.codec(entry.call.call_id))
            if played:
                self._on_audio(call_id, played)

    # -- commands (the app's SIP effects) -----------------------------------------------------
    async def dial(self, number_or_uri: str, headers: dict[str, str] | None = None, *,
                   answer_within_s: float = NO_ANSWER_S) -> str:
        """Place a call through the proxy (its 407 challenge is answered with the account's
        password) and return its call id, the same kind incoming calls have. A number becomes
        ``sip:<number>@<domain>`` (firmware/sip/dialing.py); ``headers`` go on the INVITE.

        Progress comes as SipCallState events: "ringing" (the far end rings), "established"
        (answered: audio flows both ways as on an answered call), then "ended" with the reason:
        "busy (486)", "declined (603)", "not found (404)", "no answer" (nobody answered within
        ``answer_within_s``), "local hangup", "remote hangup", ... A dial the stack refuses
        (not running, no route to the host) still gets a call id, and its "ended" event says
        why. ``max_calls`` is not applied here: baresip limits only incoming calls, and an
        emergency call must go out whatever is up. Events that come before this returns are
        posted after it has returned, so the caller can record the id first. Raises
        ValueError, naming the problem, for a number or header that cannot be dialed (nothing
        is sent)."""
        uri = dialing.dial_uri(number_or_uri, self.config.domain, self.config.transport)
        headers = dict(headers or {})
        loop = asyncio.get_running_loop()
        if self._ua is None or self._runtime is None:      # not started, or stopped
            return self._not_dialed("SIP not running")
        self._dialing += 1
        try:
            call = await self._ua.dial(uri, headers=headers)
            early = self._early.pop(str(call.handle), [])
        except NoLocalAddressError:         # its text is advice for the stack's programmer
            log.warning("dial refused by the stack: no local address toward %s", uri)
            return self._not_dialed("not dialed: no network route to that host")
        except BaresipError as e:
            log.warning("dial refused by the stack: %s", e)
            return self._not_dialed(f"not dialed: {e}")
        finally:
            self._dialing -= 1
            if not self._dialing:
                self._early.clear()
        call_id = str(call.handle)
        entry = _Call(call, headers.get(CONTACT_HEADER, ""), user_part(uri),
                      CallMedia(call_id, call), state="dialing", outbound=True)
        entry.no_answer = loop.call_later(answer_within_s, self._give_up, call_id)
        self._calls[call_id] = entry
        self._follow_quality(entry)
        log.info("dialing call %s to %s", call_id, entry.peer)   # headers unlogged: a token
        for event in early:
            loop.call_soon(self._on_stack_event, event)
        return call_id

    def _not_dialed(self, reason: str) -> str:
        """A call id for a dial that never left, whose end is posted once it is returned."""
        self._not_dialed_count += 1
        call_id = f"not-dialed-{self._not_dialed_count}"
        asyncio.get_running_loop().call_soon(self._post, SipCallState(call_id, "ended", reason))
        return call_id

    def _give_up(self, call_id: str) -> None:
        entry = self._calls.get(call_id)
        if entry is not None and entry.state == "dialing":
            entry.end_reason = "no answer"
            task = asyncio.get_running_loop().create_task(
                self._command(call_id, "give up", lambda e: e.call.hangup()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def answer(self, call: str) -> None:
        await self._command(call, "answer", lambda e: e.call.answer())

    async def hold(self, call: str) -> None:
        await self._command(call, "hold", lambda e: self._hold(call, e, True))

    async def resume(self, call: str) -> None:
        await self._command(call, "resume", lambda e: self._hold(call, e, False))

    async def hangup(self, call: str) -> None:
        async def bye(entry: _Call):
            entry.hung_up_here = True
            await entry.call.hangup()
        await self._command(call, "hangup", bye)

    async def refuse(self, call: str, contact: str, why: str) -> None:
        """Turn down (486) a call the rules won't ring (SipRefuse: a contact it cannot prove,
        or one unbound call too many); says so in the log, without the token it carried."""
        if contact:
            log.warning("call %s claiming contact %r refused: %s", call, contact[:64], why)
        else:
            log.warning("call %s from %s refused: %s", call,
                        self._calls[call].peer if call in self._calls else "?", why)
        await self._command(call, "refuse", lambda e: e.call.reject())

    async def send_dtmf(self, call: str, digits: str) -> None:
        """Send ``digits`` to the far end, after any still on their way (each takes ~220 ms,
        and keys come faster): queued at once, sent in the background. The digits themselves
        are never logged: they may be a card number keyed into a payment line."""
        entry = self._calls.get(call)
        if entry is None:
            log.warning("DTMF: no call %s (already ended?)", call)
            return
        entry.dtmf_waiting += digits
        if entry.dtmf_sender is None or entry.dtmf_sender.done():
            entry.dtmf_sender = asyncio.get_running_loop().create_task(
                self._send_dtmf(call, entry))

    async def _send_dtmf(self, call_id: str, entry: _Call) -> None:
        while entry.dtmf_waiting and call_id in self._calls:
            digits, entry.dtmf_waiting = entry.dtmf_waiting, ""
            try:
                await entry.call.send_dtmf(digits)
            except BaresipError as e:             # its text names no digit
                log.warning("call %s: %d DTMF digit(s) not sent: %s", call_id, len(digits), e)
            except ValueError:                    # a key that is no DTMF digit: the text would
                log.warning("call %s: DTMF not sent: not a DTMF digit", call_id)  # name it

    async def _command(self, call_id: str, verb: str, action) -> None:
        entry = self._calls.get(call_id)
        if entry is None:
            log.warning("%s: no call %s (already ended?)", verb, call_id)
            return
        try:
            await action(entry)
        except StaleHandleError:
            log.warning("%s: call %s is gone", verb, call_id)
        except BaresipError as e:
            log.warning("%s call %s failed: %s", verb, call_id, e)
        except Exception:               # a command never breaks the phone's loop
            log.exception("%s call %s", verb, call_id)

    async def _hold(self, call_id: str, entry: _Call, on: bool) -> None:
        if entry.local_hold == on:
            return
        if entry.state in ("ringing", "dialing"):
            raise BaresipError("not answered yet")
        for attempt in range(HOLD_ATTEMPTS):
            try:
                await (entry.call.hold() if on else entry.call.resume())
                break
            except StaleHandleError:
                raise
            except BaresipError:
                # usually a session refresh still in flight; it clears within ~100 ms
                if attempt == HOLD_ATTEMPTS - 1 or call_id not in self._calls:
                    raise
                await asyncio.sleep(HOLD_RETRY_S)
        entry.local_hold = on
        self._set_hold_state(call_id, entry, "held" if on else "resumed")

    def send_audio(self, call: str, pcm: bytes, rate: int, following: bool = False,
                   jitter_s: float = 0.0) -> None:
        """The agent's voice for ``call``: mono S16_LE at ``rate`` Hz, one period at a time as
        it is spoken (``following``: resampled to follow a drifting card, audio/drift.py,
        whose periods the host hands over up to ``jitter_s`` late).
        Called from the mic's thread (baresip's call audio takes one writer on any thread).
        Dropped while the call has no media: not answered, renegotiating, gone."""
        entry = self._calls.get(call)
        if entry is not None:
            entry.media.send(pcm, rate, time.monotonic(), following, jitter_s)

    # -- queries ------------------------------------------------------------------------------
    @staticmethod
    def _follow_quality(entry: _Call) -> None:
        def latest(stats: CallStats) -> None:
            entry.rtcp = stats
        entry.call.on_rtcp(latest)

    def _measure(self, call_id: str, entry: _Call, stats: CallStats) -> Quality:
        received = self._received.get(call_id)
        return measure(stats, self._codecs.codec(entry.call.call_id),
                       received.concealed if received else 0)

    def quality(self, call: str) -> Quality | None:
        """The figures of ``call`` while it is up (its latest RTCP report's; before the first,
        what the phone counted itself), else of the last call that ended ("": whichever it
        was); None for a call that is neither."""
        entry = self._calls.get(call)
        if entry is not None:
            stats = entry.rtcp or CallStats(
                rx_packets=self.stats(call).get("rx_packets", 0),
                tx_packets=entry.media.tx_periods)
            return self._measure(call, entry, stats)
        if self._last_quality is not None and call in ("", self._last_quality[0]):
            return self._last_quality[1]
        return None

    def calls(self) -> list[tuple[str, str, str]]:
        """(call id, "ringing" | "dialing" | "established" | "held", contact) for every call
        up; "dialing": placed by the phone, not answered yet."""
        return [(call_id, e.state, e.contact) for call_id, e in self._calls.items()]

    def stats(self, call: str) -> dict:
        """Media counters of a call that is up ({} otherwise).

        ``rx_packets``: audio packets received so far, counted as the decoded packets that
        baresip's receive tap delivered (it only sees audio while RTP arrives), as of the last
        5 ms poll (reading the tap here would take audio from the earpiece).
        ``tx_packets``: periods of the agent's voice handed to the stack so far.
        ``tx_starved``: packets sent padded because the voice ran dry mid-flow (the mic fell
        behind), since the call's media last started (answer, hold, resume).
        ``tx_queued_ms``: the agent's voice written but not sent yet; ``tx_skipped``: periods
        of it skipped to cut a standing backlog (media.CATCH_UP_PERIODS).
        ``rx_concealed``: packets lost on the way (or too late) whose audio the phone made
        up (audio/concealment.py).
        ``codec``: what the call's audio travels as, "<name>/<audio rate>" ("g722/16000",
        "opus/48000", "pcmu/8000"), "" until the far end's SDP is in; ``rate``: the rate of
        the call's audio at the phone (the board's), whatever the codec.
        """
        entry = self._calls.get(call)
        if entry is None:
            return {}
        stats: dict = entry.media.stats()
        codec = self._codecs.codec(entry.call.call_id)
        source, channels = decoded_format(codec)
        if source:                  # the tap's bytes per 20 ms packet are the codec's
            stats["rx_packets"] = entry.media.rx_bytes // (source * channels * 2 // 50)
        received = self._received.get(call)
        stats["rx_concealed"] = received.concealed if received else 0
        return stats | {"codec": codec, "rate": self.rate}
