"""The service console's commands (the contract in DESIGN.md)."""
from __future__ import annotations

from .protocol import Command
from .server import ConsoleError

HELP = (
    ("status", "agent, SIP, contact-center and firmware status as key=value"),
    ("lcd", "the display, one lcd:<row>:<text> line per row, then lcd."),
    ("key <name>", "press and release a key"),
    ("hook off|on", "lift or replace the handset"),
    ("leds", "every LED as <name>=off|on|blink"),
    ("help", "this list"),
)


class Commands:
    """Turns console commands into phone actions. ``phone`` is a firmware.app.phone.Phone."""

    def __init__(self, phone):
        self.phone = phone

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
        return (f"status agent={m.agent_state} sip={m.links.sip} cc={m.links.cc} calls=0 "
                f"fw={m.info.version} slot={m.info.slot} hook={'off' if m.hook_lifted else 'on'}")

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
        self.phone.devices.keypad.press(name)
        await self.phone.settle()
        return "ok"

    async def _cmd_hook(self, *args):
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise ConsoleError("usage: hook off|on")
        self.phone.devices.hook.set_lifted(args[0].lower() == "off")
        await self.phone.settle()
        return "ok"

    async def _cmd_leds(self, *extra):
        _no_args("leds", extra)
        await self.phone.settle()
        modes = self.phone.devices.leds.modes()
        return "leds " + " ".join(f"{name}={mode}" for name, mode in modes.items())


def _no_args(name, extra):
    if extra:
        raise ConsoleError(f"{name} takes no arguments")
