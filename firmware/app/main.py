"""python -m firmware --board NAME [--config FILE]: build the phone and run it."""
from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import os
import signal
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from firmware.cc.connection import CcConnection
from firmware.cc.outbox import OutboxFile
from firmware.console.commands import Commands
from firmware.console.port import FdPort
from firmware.console.server import Console
from firmware.core import events as ev
from firmware.core.model import DeviceInfo
from firmware.sdnotify import Notifier
from firmware.sip import location
from firmware.update.manager import UpdateManager
from firmware.update.slots import RESET_EXIT_CODE, SlotStore
from firmware.update.smp_serial import SerialSmp
from firmware.update.smp_server import SmpServer
from firmware.version import __version__
from hal import BoardError, HalError, load_board
from hal.devices import open_devices
from hal.keypad import KEY_NAMES

from . import timesync
from .config import ConfigError, load_config
from .device import display_of, primary_ip, running_slot
from .phone import Phone
from .storage import StorageWatch
from .store import SettingsStore

log = logging.getLogger("hardphone")

TREE = Path(__file__).resolve().parents[2]     # the firmware tree this code runs from
RESET_GRACE_S = 0.3     # a pty drops what its reader has not yet taken when it closes
CONFIRM_WAIT_S = 120    # a trial slot's time to get SIP / the contact center up
EVENTS_STALE_S = 5      # no event handled for this long (a Tick comes every second): hung


class Power:
    """How the phone ends: stopped (SIGTERM/SIGINT, exit 0) or reset (exit RESET_EXIT_CODE:
    the launcher starts it again, maybe from the other slot). Safe from any thread (SMP)."""

    def __init__(self):
        self._loop = asyncio.get_running_loop()
        self.off = asyncio.Event()
        self.reset = False

    def stop(self):
        self._loop.call_soon_threadsafe(self.off.set)

    def request_reset(self):
        self.reset = True
        self._loop.call_soon_threadsafe(self.off.set)


def open_update_root(config) -> SlotStore | None:
    """The update root this tree is a slot of; None for a development tree (repo checkout)."""
    slots = SlotStore(config.update.root)
    if slots.slot_of(TREE) is None:
        log.info("update: not running from %s/slots (a development tree)", config.update.root)
        return None
    return slots


async def confirm_when_healthy(slots: SlotStore | None, config, slot: str, links=None):
    """A trial slot that got this far keeps itself (docs/update.md): READY is healthy, and
    with [update] require_sip / require_cc, so is a registered SIP account / a contact-center
    link that is up. ``links()`` returns the model's Links; the wait runs in the background,
    and a slot that never gets there stays on trial (the next reset reverts it)."""
    if slots is None or not await asyncio.to_thread(slots.in_trial):
        return
    need = config.update

    def linked() -> bool:
        current = links()
        return ((not need.require_sip or current.sip == "registered")
                and (not need.require_cc or current.cc == "up"))

    async def confirm():
        if need.require_sip or need.require_cc:
            deadline = asyncio.get_running_loop().time() + CONFIRM_WAIT_S
            while not linked():
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("update: slot %s stays on trial: not %s within %d s (console: "
                                "confirm keeps it anyway)", slot, _needs(need), CONFIRM_WAIT_S)
                    return
                await asyncio.sleep(0.2)
        try:
            if await asyncio.to_thread(slots.confirm):
                log.info("update: slot %s confirmed after healthy boot", slot)
        except OSError as e:     # the trial then reverts at the next boot: safe, but say why
            log.error("update: slot %s not confirmed: %s", slot, e)

    if need.require_sip or need.require_cc:
        asyncio.get_running_loop().create_task(confirm(), name="confirm")
    else:
        await confirm()


def _needs(need) -> str:
    return " and ".join(w for w, on in (("SIP registered", need.require_sip),
                                        ("contact center up", need.require_cc)) if on)


def serial_smp(slots: SlotStore | None, config, board: str, power: Power, info: DeviceInfo):
    """SMP on the console port, for field flashing; only where there are slots to flash."""
    if slots is None:
        return None
    key = config.update.public_key
    try:
        key_pem = key.read_bytes()
    except OSError as e:
        log.error("update: image key %s unreadable (%s): uploads will be refused", key, e)
        key_pem = None
    server = SmpServer(UpdateManager(slots, key_pem, board), power.request_reset,
                       lambda: f"hardphone {info.version} board={info.board} slot={info.slot}")
    return SerialSmp(server)


def open_links(phone: Phone, config):
    """The contact-center link, when the config names one: made now, so that a login (the
    config's, at boot) queues in it; it connects once start_links() starts it."""
    if config.cc:
        outbox = OutboxFile(config.state_dir / "cc-outbox.dat",
                            on_result=phone.storage.report if phone.storage else lambda e: None)
        phone.cc = CcConnection(config.cc.url, phone.post, outbox,
                                cafile=str(config.cc.cafile) if config.cc.cafile else None)


def clock_check(config):
    """Is the clock synchronized (firmware.app.timesync), as the config's [time] asks."""
    return partial(timesync.synchronized, config.time.sync_file, config.time.kernel_sync)


async def links_after_time(phone: Phone, config, check):
    """Time before trust: the links wait for a synchronized clock (the LCD says so)."""
    log.warning("the clock is not synchronized: no contact-center or SIP link until it is")
    waited = await timesync.wait_until_synchronized(check)
    log.info("clock synchronized after %.0f s: opening the links", waited)
    phone.post(ev.ClockSync(True))
    await start_links(phone, config)


async def start_links(phone: Phone, config):
    """The contact-center link and the SIP stack, when the config names them."""
    if phone.cc:
        phone.cc.start()
    if config.sip:
        from firmware.sip.stack import SipStack  # baresip loads only when used
        phone.sip = SipStack(config.sip, phone.post, on_audio=phone.hear,
                             rate=phone.devices.spec.audio_rate)
        try:
            await phone.sip.start()
        except Exception as e:       # noqa: BLE001 - the phone still works without SIP
            log.error("SIP did not start: %s", e)
            phone.post(ev.SipRegistration("failed", str(e)))


def emergency_headers(config) -> dict[str, str]:
    """What an emergency call carries: priority, and the desk's location when the config sets
    one (said in the log at start when it doesn't: the call still goes, without it)."""
    address = config.emergency.location
    if address is None:
        log.warning("no [emergency] location in the config: emergency calls go without the "
                    "desk's address")
    user = config.sip.user if config.sip else "phone"
    host = config.sip.domain.rsplit(":", 1)[0] if config.sip else "localhost"
    return location.emergency_headers(address, f"pres:{user}@{host}")


async def detach_links(phone: Phone):
    if phone.cc:
        await phone.cc.stop()
    if phone.sip:
        await phone.sip.stop()


def service_status(m) -> str:
    """systemd's STATUS= (``systemctl status hardphone``): the links, and why they wait."""
    links = f"agent={m.agent_status} sip={m.links.sip} cc={m.links.cc}"
    return f"Waiting for time ({links})" if m.waiting_for_time else links


async def serve_systemd(phone: Phone, notifier: Notifier):
    """WATCHDOG=1 every half WATCHDOG_USEC, from the phone's own loop and only while its
    events are handled (a hung loop or event handler stops the pings: systemd restarts the
    unit); STATUS= whenever it changes."""
    loop = asyncio.get_running_loop()
    every = min(notifier.watchdog_s or 1.0, 1.0)
    shown, pinged = None, -float("inf")
    while True:
        text = service_status(phone.model)
        if text != shown:
            notifier.status(text)
            shown = text
        if notifier.watchdog_s is not None and loop.time() - pinged >= notifier.watchdog_s:
            stale = time.monotonic() - phone.handled_at
            if stale < EVENTS_STALE_S:
                notifier.watchdog()
                pinged = loop.time()
            else:
                log.error("no event handled for %.0f s: no watchdog ping", stale)
        await asyncio.sleep(every)


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


async def run(board, config, console_port: str) -> bool:
    """Run the phone until it is stopped; True if it was asked to reset."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    power = Power()
    slots = open_update_root(config)
    if not config.page_enabled:          # the sim board without its page (and web server)
        board = replace(board, sim={k: v for k, v in board.sim.items() if k != "web_port"})
    devices = open_devices(board, config.state_dir / "run")
    slot = running_slot()
    info = DeviceInfo(version=__version__, board=board.name, slot=slot,
                      display=display_of(board.lcd), emergency=config.emergency.numbers)
    phone = Phone(devices, SettingsStore(config.state_dir), info, KEY_NAMES, primary_ip)
    phone.emergency_headers = emergency_headers(config)
    phone.log_secrets |= {secret for secret in (config.cc and config.cc.pin,
                                                config.sip and config.sip.password) if secret}
    await phone.start()
    phone.storage = StorageWatch(config.state_dir, phone.post)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(phone.storage.run(), name="storage")]
    open_links(phone, config)
    check = clock_check(config)
    if config.time.waits("sim" if board.emulated else board.backend) \
            and not await asyncio.to_thread(check):
        phone.post(ev.ClockSync(False))
        tasks.append(loop.create_task(links_after_time(phone, config, check), name="time"))
    else:
        await start_links(phone, config)

    port = (FdPort.open_pty() if console_port == "pty"
            else FdPort.open_serial(console_port, board.console_baud))
    console = Console(port, Commands(phone, slots, power.request_reset),
                      smp=serial_smp(slots, config, board.name, power, info),
                      max_baud=board.console_max_baud)
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
    if config.cc and config.cc.agent:
        phone.post(ev.LoginFromConfig(config.cc.agent, config.cc.pin))
    # Confirmed before READY goes out, so whoever sees READY sees the slots as they stay.
    await confirm_when_healthy(slots, config, slot, lambda: phone.model.links)
    console.send("READY")
    announce("READY")
    notifier = Notifier()
    if notifier.enabled:
        notifier.ready(service_status(phone.model))
        tasks.append(loop.create_task(serve_systemd(phone, notifier), name="systemd"))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, power.stop)
    try:
        await power.off.wait()
        if power.reset:
            log.info("reset requested")
            await console.flush()
            await asyncio.sleep(RESET_GRACE_S)
    finally:
        log.info("shutting down")
        if not power.reset:          # a reset is no stop: the launcher starts the phone again
            Notifier().stopping()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for service in devices.services:
            await service.stop()
        await console.stop()
        await detach_links(phone)
        await phone.stop()
        devices.close()
    return power.reset


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # systemd's watchdog kills a hung phone with SIGABRT: where every thread was goes to the log
    faulthandler.enable()
    try:
        board = load_board(args.board)
        config = load_config(args.config)
    except (BoardError, ConfigError) as e:
        print(f"hardphone: {e}", file=sys.stderr)
        return 2
    console_port = args.console or config.console_port or board.console_port
    try:
        reset = asyncio.run(run(board, config, console_port))
    except HalError as e:
        print(f"hardphone: {board.path}: {e}", file=sys.stderr)
        return 3
    except OSError as e:             # name the file: "[Errno 2] No such file" helps no one
        where = f"{e.filename}: " if e.filename else ""
        print(f"hardphone: {where}{e.strerror or e}", file=sys.stderr)
        return 3
    if reset:
        if "HARDPHONE_UPDATE_ROOT" not in os.environ:
            log.warning("reset: no launcher started this phone, so it just stops")
        return RESET_EXIT_CODE
    return 0
