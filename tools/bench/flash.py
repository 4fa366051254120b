"""Field flashing through a line paced at 115200 8N1 (11,520 bytes/s): our COBS mode, our
console-framing mode, smpmgr's defaults, and a code-only delta update end to end."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tools.flash.session import flash
from tools.serial_line import SerialLine
from tools.simdevice import ROOT, Kit, SimDevice

from .table import table

BAUD = 115200
LINE = BAUD / 10


def _relay_rate(nbytes: int = 46_080) -> float:
    """Raw bytes per second the paced relay carries one way: the yardstick for the rest."""
    import os
    import threading

    import serial
    with SerialLine(BAUD) as line:
        host = serial.Serial(line.host_end, BAUD, timeout=0.1)
        device = serial.Serial(line.device_end, BAUD, timeout=0.002)   # no tail of waiting
        got = bytearray()

        def read():
            while len(got) < nbytes:
                got.extend(device.read(4096))
        reader = threading.Thread(target=read)
        t = time.monotonic()
        reader.start()
        host.write(os.urandom(nbytes))
        reader.join(60)
        rate = len(got) / (time.monotonic() - t)
        host.close()
        device.close()
    return rate


def _device(work: Path, kit: Kit, line: SerialLine, image: Path) -> SimDevice:
    dev = SimDevice(work, kit, line.device_end, image)
    dev.power_on()
    dev.wait_ready()
    return dev


def _ours(work, kit, cobs: bool, image: Path, fast_baud=None):
    # The relay follows the speed each end sets, so a negotiated speed is real here.
    with SerialLine(BAUD, follow_speed=True) as line:
        dev = _device(work, kit, line, kit.v1)
        try:
            r = flash(line.host_end, image, cobs=cobs, fast_baud=fast_baud)
        finally:
            dev.stop()
    rate = r.bytes_sent / r.upload_s
    return r, rate


def _smpmgr(work, kit):
    with SerialLine(BAUD) as line:
        dev = _device(work, kit, line, kit.v1)
        try:
            t = time.monotonic()
            subprocess.run([str(ROOT / ".venv/bin/smpmgr"), "--port", line.host_end,
                            "--timeout", "10", "image", "upload", str(kit.v2)],
                           check=True, capture_output=True, timeout=600)
            upload_s = time.monotonic() - t
        finally:
            dev.stop()
    return upload_s


def run() -> str:
    work = Path(tempfile.mkdtemp(prefix="bench-flash-"))
    try:
        kit = Kit(work / "kit")
        kit.v1 = kit.image("1.0.0")
        kit.v2 = kit.image("1.1.0")
        # a code-only change: one Python file differs from 1.1.0
        tree = kit.dir / "tree-1.1.0"
        (tree / "firmware" / "ui" / "view.py").write_text(
            (tree / "firmware" / "ui" / "view.py").read_text() + "\n# 1.1.1: a fix\n")
        (tree / "firmware" / "version.py").write_text('__version__ = "1.1.1"\n')
        from tools.mkimage.build import build_image
        full_111 = kit.dir / "images" / "hardphone-1.1.1.img"
        build_image(tree, full_111, kit.key, version="1.1.1", boards=["sim", "rpi4"])
        delta = kit.dir / "images" / "hardphone-1.1.1-from-1.0.0.img"
        build_image(tree, delta, kit.key, version="1.1.1", boards=["sim", "rpi4"],
                    delta_from=kit.v1)

        size = kit.v2.stat().st_size
        raw = _relay_rate()
        rows = [["raw bytes through the relay (the yardstick)", "46,080", 46_080 / raw, raw,
                 f"{raw / LINE:.1%}", "-"]]
        r, rate = _ours(work / "cobs", kit, True, kit.v2)
        rows.append(["flash.sh (COBS frames, 32 KiB)", f"{size:,}", r.upload_s, rate,
                     f"{rate / LINE:.1%}", r.total_s])
        r, rate = _ours(work / "console", kit, False, kit.v2)
        rows.append(["flash.sh --console-framing", f"{size:,}", r.upload_s, rate,
                     f"{rate / LINE:.1%}", r.total_s])
        up = _smpmgr(work / "smpmgr", kit)
        rows.append(["smpmgr image upload (defaults)", f"{size:,}", up, size / up,
                     f"{size / up / LINE:.1%}", "-"])
        r, rate = _ours(work / "fast", kit, True, kit.v2, fast_baud=921600)
        rows.append(["flash.sh default: negotiates 921600", f"{size:,}", r.upload_s, rate,
                     f"{rate / (r.baud / 10):.1%} of {r.baud}", r.total_s])
        r, rate = _ours(work / "delta", kit, True, full_111)
        assert r.image == delta, "flash.sh should have picked the delta"
        rows.append([f"code-only delta 1.0.0 -> 1.1.1 (full image {full_111.stat().st_size:,})",
                     f"{r.bytes_sent:,}", r.upload_s, rate, f"{rate / LINE:.1%}", r.total_s])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return table("Field flashing through a relay paced at 115200 8N1 (11,520 bytes/s on the line; "
                 "the relay follows a negotiated speed)",
                 ["mode", "image bytes", "upload s", "image bytes/s", "line use",
                  "whole flash s"], rows)
