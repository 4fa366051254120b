"""The service console's commands (the contract in DESIGN.md)."""
from __future__ import annotations

import asyncio

from firmware.core.calls import noise_removal, voice_target
from firmware.update.slots import SLOTS
from hal import HalError

from .protocol import Command
from .server import ConsoleError

HELP = (
    ("status", "agent, SIP, contact-center, firmware and noise removal status as key=value"),
    ("lcd", "the display, one lcd:<row>:<text> line per row, then lcd."),
    ("key <name>", "press and release a key"),
    ("hook off|on", "lift or replace the handset"),
    ("leds", "every LED as <name>=off|on|blink"),
    ("calls", "one 'call <id>' line per call (state, contact, RTP packets in), then calls."),
    ("version", "firmware version, board and the slot it runs from"),
    ("slots", "the A/B slots, one 'slot <x>:' line each, then slots."),
    ("confirm", "keep the running trial slot for good"),
    ("revert", "go back to the other, confirmed slot at the next boot"),
    ("reboot", "restart the phone (the launcher boots the slot chosen for it)"),
    ("smp cobs", "switch to binary SMP (COBS) frames until 3 s idle (flash.sh)"),
    ("baud <rate>", "change the UART speed; reverts unless spoken to within 3 s"),
    ("help", "this list"),
)

NO_UPDATE_ROOT = "no update root (running from a development tree)"


def _on(flag: bool) -> str:
    return "on" if flag else "off"


class Commands:
    """Turns console commands into phone actions. ``phone`` is a firmware.app.phone.Phone;
    ``slots`` the update root's SlotStore (None on a development tree); ``request_reset()``
    ends the phone with RESET_EXIT_CODE once the reply is out."""

    def __init__(self, phone, slots=None, request_reset=None):
        self.phone, self.slots, self.request_reset = phone, slots, request_reset

    async def __call__(self, cmd: Command) -> str:
        handler = getattr(self, f"_cmd_{cmd.name}", None)
        if handler is None:
            raise ConsoleError(f"unknown command {cmd.name!r} (try help)")
        return await handler(*cmd.args)

    async def _cmd_help(self, *extra):
        _no_args("help", extra)
        width = max(len(c) for c, _ in HELP)
        return "\n".join(f"help {c.ljust(width)}  {text}" for c, text in HELP) + "\nhelp."

    async def _cmd_status(self, *extra):
        _no_args("status", extra)
        await self.phone.settle()
        m = self.phone.model
        voice, customer = noise_removal(m)          # last: parsers of the older line still fit
        return (f"status agent={m.agent_status} sip={m.links.sip} cc={m.links.cc} "
                f"calls={len(m.calls)} "
                f"fw={m.info.version} slot={m.info.slot} hook={'off' if m.hook_lifted else 'on'} "
                f"nr_voice={_on(voice)} nr_customer={_on(customer)} "
                f"clock={'waiting' if m.waiting_for_time else 'synced'}")

    async def _cmd_calls(self, *extra):
        _no_args("calls", extra)
        await self.phone.settle()
        lines = []
        target = voice_target(self.phone.model)     # the mic in use: its card's clock
        clock = self.phone.call_mic.clocks.get(target[1]) if target else None
        card_ppm = "-" if clock is None or clock.ppm is None else f"{clock.ppm:+.0f}"
        mic_late = "-" if clock is None or clock.ppm is None else f"{clock.jitter_s * 1000:.1f}"
        for call in self.phone.model.calls:
            stats = self.phone.sip.stats(call.id) if self.phone.sip else {}
            lines.append(f"call {call.id} state={call.state} contact={call.contact or '-'} "
                         f"rx_packets={stats.get('rx_packets', 0)} "
                         f"tx_packets={stats.get('tx_packets', 0)} "
                         f"tx_starved={stats.get('tx_starved', 0)} "
                         f"codec={stats.get('codec') or '-'} "
                         f"tx_skipped={stats.get('tx_skipped', 0)} "
                         f"tx_queued_ms={stats.get('tx_queued_ms', 0)} card_ppm={card_ppm} "
                         f"rx_concealed={stats.get('rx_concealed', 0)} mic_late_ms={mic_late}")
        return "\n".join(lines + ["calls."])

    async def _cmd_lcd(self, *extra):
        _no_args("lcd", extra)
        await self.phone.settle()
        rows = self.phone.devices.lcd.text()
        return "\n".join(f"lcd:{i}:{row}" for i, row in enumerate(rows)) + "\nlcd."

    async def _cmd_key(self, *args):
        if len(args) != 1:
            raise ConsoleError("usage: key <name>")
        name = args[0].lower()
        if name not in self.phone.key_names:
            raise ConsoleError(f"unknown key {args[0]!r}")
        try:
            self.phone.devices.keypad.press(name)
        except HalError as e:           # a front panel that is lost cannot press its keys
            raise ConsoleError(str(e)) from None
        await self.phone.settle()
        return "ok"

    async def _cmd_hook(self, *args):
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise ConsoleError("usage: hook off|on")
        try:
            self.phone.devices.hook.set_lifted(args[0].lower() == "off")
        except HalError as e:
            raise ConsoleError(str(e)) from None
        await self.phone.settle()
        return "ok"

    async def _cmd_leds(self, *extra):
        _no_args("leds", extra)
        await self.phone.settle()
        modes = self.phone.devices.leds.modes()
        return "leds " + " ".join(f"{name}={mode}" for name, mode in modes.items())

    async def _cmd_version(self, *extra):
        _no_args("version", extra)
        info = self.phone.model.info
        return f"version {info.version} board={info.board} slot={info.slot}"

    # Slot changes write to disk with fsync: off the phone's loop.
    async def _cmd_slots(self, *extra):
        _no_args("slots", extra)
        lines = await asyncio.to_thread(describe_slots, self._update_root())
        return "\n".join(lines) + "\nslots."

    async def _cmd_confirm(self, *extra):
        _no_args("confirm", extra)
        slots = self._update_root()
        if not await asyncio.to_thread(slots.confirm):
            raise ConsoleError("nothing to confirm (the running slot is not on trial)")
        return "ok"

    async def _cmd_revert(self, *extra):
        _no_args("revert", extra)
        try:
            slot = await asyncio.to_thread(self._update_root().revert)
        except ValueError as e:
            raise ConsoleError(str(e)) from None
        return f"ok, slot {slot} runs at next boot"

    async def _cmd_reboot(self, *extra):
        _no_args("reboot", extra)
        if self.request_reset is None:
            raise ConsoleError("reboot is not available")
        self.request_reset()            # takes effect after this reply has gone out
        return "ok"

    def _update_root(self):
        if self.slots is None:
            raise ConsoleError(NO_UPDATE_ROOT)
        return self.slots


def describe_slots(slots) -> list[str]:
    """``slot a: version=0.1.0 state=active confirmed=yes boots=1 counter=65536``, one line
    per slot.

    active: `current` points at it (the slot the next boot runs, unless a trial is pending);
    trial: tested at the next boot, or running unconfirmed; empty: no firmware tree.
    counter: the security counter of the slot's image (anti-rollback; 0 for none).
    """
    state, active = slots.state(), slots.active()
    lines = []
    for s in SLOTS:
        if not slots.holds_tree(s):
            kind = "empty"
        elif state.trial == s:
            kind = "trial"
        else:
            kind = "active" if s == active else "inactive"
        lines.append(f"slot {s}: version={slots.version(s) or '-'} state={kind} "
                     f"confirmed={'yes' if state.confirmed.get(s) else 'no'} "
                     f"boots={state.attempts.get(s, 0)} counter={slots.counter(s)}")
    return lines


def _no_args(name, extra):
    if extra:
        raise ConsoleError(f"{name} takes no arguments")
