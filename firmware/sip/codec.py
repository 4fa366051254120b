"""Which codec each call's audio uses, read from the far end's SDP.

baresip-python tells a call's rate at its audio taps (the board's, whatever the codec: the
stack resamples) but not the codec. The stack sends with the first codec of the far end's
latest SDP that it has too, so the SIP messages received are read as they pass, through the
stack's SIP trace (``Config(sip_trace=True)``), and never logged: they carry the contact's
token and the SRTP keys. Stdlib only.
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict

# payload types with a fixed meaning (RFC 3551), sent without an rtpmap line
_STATIC = {"0": ("pcmu", 8000), "8": ("pcma", 8000), "9": ("g722", 8000)}
# G.722's RTP clock is 8000 for a historical mistake (RFC 3551 4.5.2); its audio is 16 kHz
_AUDIO_RATE = {"g722": 16000}
_RTPMAP = re.compile(r"a=rtpmap:(\d+)\s+([^/\s]+)/(\d+)")
KEEP_CALLS = 64        # Call-IDs remembered at most: a refused call's is never forgotten


def codec_names(offer: tuple[str, ...]) -> frozenset[str]:
    """("g722/16000/1", "pcmu") -> {"g722", "pcmu"}: the names an Account's list offers."""
    return frozenset(c.split("/", 1)[0].lower() for c in offer)


def sent_codec(sdp: str, ours: frozenset[str]) -> str | None:
    """The codec a stack with codecs ``ours`` sends with after the far end's ``sdp``:
    "<name>/<audio rate>" ("g722/16000", "pcmu/8000", "opus/48000"), None when the SDP has
    no audio stream or no codec in common."""
    lines = [line.strip() for line in sdp.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("m=audio "):
            continue
        parts = line.split()
        if len(parts) < 4 or parts[1] == "0":          # port 0: the stream is refused
            return None
        maps = dict(_STATIC)
        for attr in lines[i + 1:]:
            if attr.startswith("m="):
                break
            m = _RTPMAP.match(attr)
            if m:
                maps[m.group(1)] = (m.group(2).lower(), int(m.group(3)))
        for pt in parts[3:]:
            name, clock = maps.get(pt, ("", 0))
            if name in ours:
                return f"{name}/{_AUDIO_RATE.get(name, clock)}"
        return None
    return None


def split_message(trace: str) -> tuple[bool, str, str]:
    """A SIP trace record ("RX UDP a -> b\\n<message>") -> (received, Call-ID, SDP body or
    "" when the message has none)."""
    head, _, message = trace.partition("\n")
    headers, _, body = message.replace("\r\n", "\n").partition("\n\n")
    call_id, sdp = "", False
    for line in headers.split("\n")[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in ("call-id", "i"):
            call_id = value.strip()
        elif name in ("content-type", "c"):
            sdp = value.strip().lower().startswith("application/sdp")
    return head.startswith("RX "), call_id, body if sdp else ""


class CodecWatch(logging.Filter):
    """Hung on the stack's SIP trace logger: remembers each call's codec (by SIP Call-ID) from
    the SDP it receives, and lets no SIP message through to the log."""

    LOGGER = "baresip.native.sip"

    def __init__(self, offer: tuple[str, ...]) -> None:
        super().__init__()
        self._ours = codec_names(offer)
        self._codecs: OrderedDict[str, str] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        try:                # the stack's log thread: a surprise here must not stop the log
            received, call_id, sdp = split_message(record.getMessage())
            if received and call_id and sdp:
                codec = sent_codec(sdp, self._ours)
                if codec:
                    self._codecs[call_id] = codec
                    self._codecs.move_to_end(call_id)
                    while len(self._codecs) > KEEP_CALLS:
                        self._codecs.popitem(last=False)
        except Exception:   # noqa: BLE001 - never log the message itself: it holds secrets
            logging.getLogger("hardphone.sip").warning("a SIP message's SDP was not read")
        return False

    def codec(self, call_id: str | None) -> str:
        """"g722/16000", ..., or "" while unknown."""
        return self._codecs.get(call_id or "", "")

    def forget(self, call_id: str | None) -> None:
        self._codecs.pop(call_id or "", None)

    def attach(self) -> None:
        """Start reading: the trace comes at DEBUG, so the logger must let DEBUG through."""
        logger = logging.getLogger(self.LOGGER)
        logger.setLevel(logging.DEBUG)
        logger.addFilter(self)

    def detach(self) -> None:
        logging.getLogger(self.LOGGER).removeFilter(self)
