"""The console port on a real serial device (a pty) whose far end goes away."""
import asyncio
import os
import time

from firmware.console.port import FdPort
from tests.waits import until


def test_a_hung_up_serial_port_does_not_spin_and_comes_back():
    async def go():
        master, slave = os.openpty()
        port = FdPort.open_serial(os.ttyname(slave), 115200)
        got = []
        port.start(got.append)
        os.write(master, b"status\n")
        await until(lambda: b"".join(got) == b"status\n", 5, "the command read")
        os.close(master)                       # the adapter is unplugged: reads give EIO
        cpu = time.process_time()
        await asyncio.sleep(1.0)               # the subject: a second with the port dead
        spent = time.process_time() - cpu
        port.close()
        os.close(slave)
        return spent

    spent = asyncio.run(go())
    assert spent < 0.3, f"the console spun on a dead port: {spent:.2f} s CPU in 1 s"
