"""Start a program in its own process, wait for the line that says it is ready, stop it cleanly.

The one way the tools and tests run a phone, ccsim, the customers, Kamailio or a helper
program (socat, tcpdump):

    proc = start([sys.executable, "-m", "tools.ccsim", ...], ready=r"^ccsim: ready (\\S+)",
                 stderr=workdir / "ccsim.log")
    ws_url = proc.ready.group(1)
    ...
    proc.stop()

Its stdout is read line by line on a thread of its own into ``lines``; ``expect`` and
``wait_for`` wait on those lines, ``wait_until`` on anything else (a port that listens). Any
wait fails with a ``ProcessError`` that says what was awaited and ends with the process's exit
code and the tail of what it printed, so a failure in CI explains itself.
"""
from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Literal

TAIL_CHARS = 3000            # how much of a process's output a failure shows
STDERR_LINES = 500           # stderr kept in memory (stderr="keep") for a failure to show

Pattern = str | re.Pattern[str]
Stderr = Path | Literal["keep", "merge", "discard"]


class ProcessError(RuntimeError):
    """The process exited, or did not print what was awaited in time."""


class Process:
    """A started program; ``popen`` is its ``subprocess.Popen``, ``lines`` its stdout so far."""

    def __init__(self, popen: subprocess.Popen[str], name: str, group: bool,
                 stderr_log: Path | None, lines: list[str] | None = None,
                 on_line: Callable[[str], None] | None = None):
        self.popen, self.name, self.group = popen, name, group
        self.lines: list[str] = lines if lines is not None else []
        self.times: list[float] = []         # time.perf_counter() each line was read
        self.cursor = len(self.lines)        # where the next expect() starts looking
        self.ready: re.Match[str] | None = None
        self.ready_after_s: float | None = None
        self.started_at = time.perf_counter()
        self._first = len(self.lines)        # this run's first line in a shared ``lines``
        self._stderr_log = stderr_log
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._on_line = on_line
        self._got = threading.Condition()
        self._eof = False
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True,
                                          name=f"{name}-stdout")]
        if popen.stderr is not None:
            self._readers.append(threading.Thread(target=self._read_stderr, daemon=True,
                                                  name=f"{name}-stderr"))
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    @property
    def stdin(self) -> IO[str]:
        if self.popen.stdin is None:
            raise ProcessError(f"{self.name} was started without stdin=True")
        return self.popen.stdin

    # -- reading -----------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            line = raw.rstrip("\n")
            with self._got:
                self.lines.append(line)
                self.times.append(time.perf_counter())
                self._got.notify_all()
            if self._on_line is not None:
                self._on_line(line)
        with self._got:
            self._eof = True
            self._got.notify_all()

    def _read_stderr(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            self._stderr.append(raw)

    def stderr_text(self) -> str:
        """What it wrote to stderr (the last STDERR_LINES lines, or its log file)."""
        if self._stderr_log is not None:
            return self._stderr_log.read_text(errors="replace")
        for reader in self._readers[1:]:
            if self.popen.poll() is not None:
                reader.join(2)               # all of it, once it has exited
        return "".join(self._stderr)

    def output_tail(self, chars: int = TAIL_CHARS) -> str:
        with self._got:
            out = "\n".join(self.lines[self._first:])
        err = self.stderr_text()
        return (f"--- stdout ---\n{out[-chars:]}\n" if out else "") + \
            (f"--- stderr ---\n{err[-chars:]}" if err else "")

    def fail(self, what: str) -> ProcessError:
        code = self.popen.poll()
        state = "still running" if code is None else f"exited with {code}"
        return ProcessError(f"{self.name}: {what} ({state})\n{self.output_tail()}")

    # -- waiting -----------------------------------------------------------------------------
    def wait_for(self, accept: Callable[[str], object], timeout: float, what: str,
                 after: int | None = None) -> int:
        """Index of the first line from ``after`` (default: the cursor) that ``accept`` likes;
        the cursor moves past it. Fails when the process ends first or ``timeout`` passes."""
        start = self.cursor if after is None else after
        deadline = time.monotonic() + timeout
        with self._got:
            while True:
                for i in range(start, len(self.lines)):
                    if accept(self.lines[i]):
                        self.cursor = i + 1
                        return i
                start = len(self.lines)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    break
                self._got.wait(left)
        if self._eof:
            try:
                self.popen.wait(2)           # reap it: the message gives its exit code
            except subprocess.TimeoutExpired:
                pass
            raise self.fail(f"ended before it printed a {what}")
        raise self.fail(f"printed no {what} in {timeout:g} s")

    def expect(self, pattern: Pattern, timeout: float = 20,
               after: int | None = None) -> re.Match[str]:
        """The match of the first line from ``after`` (default: the cursor) that ``pattern``
        (a regular expression) is found in; the cursor moves past it."""
        regex = re.compile(pattern)
        i = self.wait_for(regex.search, timeout, f"line matching {regex.pattern!r}", after)
        match = regex.search(self.lines[i])
        assert match is not None
        return match

    def wait_until(self, condition: Callable[[], object], timeout: float, what: str,
                   every: float = 0.02) -> None:
        """Poll ``condition`` (something outside the output: a socket, a file) until it holds;
        fails at once if the process exits meanwhile."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.popen.poll() is not None:
                raise self.fail(f"ended before {what}")
            if time.monotonic() > deadline:
                raise self.fail(f"no {what} in {timeout:g} s")
            time.sleep(every)

    # -- stopping ----------------------------------------------------------------------------
    def signal(self, sig: int) -> None:
        """``sig`` to the process, or to its whole process group (``group=True``)."""
        try:
            if self.group:
                os.killpg(self.popen.pid, sig)
            elif self.popen.poll() is None:
                self.popen.send_signal(sig)
        except ProcessLookupError:
            pass

    def kill(self) -> int:
        """SIGKILL (to the group, if it has one: the children it forked too); its exit code."""
        self.signal(signal.SIGKILL)
        code = self.popen.wait()
        for reader in self._readers:         # its last lines are in ``lines`` when this returns
            reader.join(1)
        return code

    def stop(self, timeout: float = 5) -> int:
        """SIGTERM, up to ``timeout`` s to exit, then SIGKILL; its exit code."""
        if self.popen.poll() is None or self.group:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            if self.group or self.popen.poll() is None:
                self.kill()                  # a group's children may outlive its leader
        self._close_pipes()
        return self.popen.wait()

    def _close_pipes(self) -> None:
        for reader in self._readers:
            reader.join(1)
        if self.popen.stdin is not None:
            try:
                self.popen.stdin.close()
            except OSError:                  # BrokenPipe flushing what it never read
                pass

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(cmd: Sequence[str | os.PathLike[str]], ready: Pattern | None = None,
          timeout: float = 20, *, name: str | None = None,
          cwd: str | os.PathLike[str] | None = None,
          env: Mapping[str, str] | None = None, stderr: Stderr = "keep", stdin: bool = False,
          group: bool = False, lines: list[str] | None = None,
          on_line: Callable[[str], None] | None = None) -> Process:
    """Start ``cmd``; with ``ready``, return once a line of its stdout matches it (the match is
    ``.ready``), or stop it and raise ``ProcessError`` with its output's tail.

    ``env``: its whole environment (default: this one's); PYTHONUNBUFFERED=1 is added so a
    Python program's lines arrive as printed. ``stderr``: a log file (appended to), "keep"
    (in memory, for failures), "merge" (into the lines) or "discard". ``group``: its own
    session, so ``stop``/``kill`` reach what it forks. ``lines``: a list to append its output
    to (a device's whole history across power cycles). ``on_line`` sees each line as it is read.
    """
    args = [os.fspath(a) for a in cmd]
    if name is None:                         # "python -m tools.ccsim" is tools.ccsim
        name = args[args.index("-m") + 1] if "-m" in args[:-1] else os.path.basename(args[0])
    log: IO[bytes] | None = None
    err: int | IO[bytes]
    if isinstance(stderr, Path):
        log = open(stderr, "ab")             # the child holds it open; ours is closed below
        err = log
    else:
        err = {"keep": subprocess.PIPE, "merge": subprocess.STDOUT,
               "discard": subprocess.DEVNULL}[stderr]
    started_at = time.perf_counter()
    try:
        popen = subprocess.Popen(
            args, cwd=cwd, env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=err, text=True, bufsize=1, start_new_session=group)
    finally:
        if log is not None:
            log.close()
    proc = Process(popen, name, group, stderr if isinstance(stderr, Path) else None, lines,
                   on_line)
    proc.started_at = started_at
    if ready is not None:
        try:
            proc.ready = proc.expect(ready, timeout)
        except ProcessError:
            proc.stop()
            raise
        proc.ready_after_s = proc.times[proc.cursor - 1 - proc._first] - proc.started_at
    return proc
