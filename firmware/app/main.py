"""python -m firmware --board NAME [--config FILE]: build the phone and run it."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from hal import BoardError, HalError, load_board
from hal.devices import open_devices
from hal.keypad import KEY_NAMES

from firmware.console.commands import Commands
from firmware.console.port import FdPort
from firmware.console.server import Console
from firmware.core.model import DeviceInfo
from firmware.version import __version__

from .config import ConfigError, load_config
from .device import primary_ip, running_slot
from .phone import Phone
from .store import SettingsStore

log = logging.getLogger("hardphone")


def announce(line: str):
    """Lines that tools wait for (console path, page address, READY) go to stdout."""
    print(line, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m firmware", description="hardphone firmware")
    p.add_argument("--board", required=True, help="board name (board/<name>/board.toml) or path")
    p.add_argument("--config", help="config file (TOML)")
    p.add_argument("--console", help="console port: 'pty', or a serial device (overrides config)")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


async def run(board, config, console_port: str):
    config.state_dir.mkdir(parents=True, exist_ok=True)
    devices = open_devices(board, config.state_dir / "run")
    slot = running_slot()
    info = DeviceInfo(version=__version__, board=board.name, slot=slot)
    phone = Phone(devices, SettingsStore(config.state_dir), info, KEY_NAMES, primary_ip)
    await phone.start()

    port = (FdPort.open_pty() if console_port == "pty"
            else FdPort.open_serial(console_port, board.console_baud))
    console = Console(port, Commands(phone))
    console.start()
    console.send(f"hardphone {__version__} board={board.name} slot={slot}")
    announce(f"console: {console.path}")

    for service in devices.services:
        if config.page_port is not None and hasattr(service, "port"):
            service.port = config.page_port
        if config.page_host is not None and hasattr(service, "host"):
            service.host = config.page_host
        try:
            await service.start()
        except OSError as e:          # a dev aid; the phone itself works without it
            log.error("%s did not start: %s", type(service).__name__, e)
            continue
        if getattr(service, "url", None):
            announce(f"board page: {service.url}")

    await phone.boot()
    console.send("READY")
    announce("READY")

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        log.info("shutting down")
        for service in devices.services:
            await service.stop()
        await console.stop()
        await phone.stop()
        devices.close()


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        board = load_board(args.board)
        config = load_config(args.config)
    except (BoardError, ConfigError) as e:
        print(f"hardphone: {e}", file=sys.stderr)
        return 2
    console_port = args.console or config.console_port or board.console_port
    try:
        asyncio.run(run(board, config, console_port))
    except HalError as e:
        print(f"hardphone: {board.path}: {e}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"hardphone: {e}", file=sys.stderr)
        return 3
    return 0
