"""The update root's A/B slots: which firmware tree boots, and whether that boot is a trial.

Layout and rules: docs/update.md ("On the device: the update root", "The launcher").
`current` (a symlink to slots/a or slots/b) says which slot runs; boot.json only says whether
that is a trial. Both are replaced atomically, and every change that touches both is ordered
so a power cut between any two syscalls leaves a state begin_boot() can finish:

- a trial boot moves `current` first, then counts the attempt; the firmware starts only
  after both are on disk, so a trial never runs uncounted (cut in between: counted next time);
- going back (revert) moves `current` first, then forgets the trial (cut in between: the
  revert is redone), so "no trial, `current` -> unconfirmed slot" never appears;
- a test is requested, and confirmed, by one boot.json write each;
- and should that pair appear anyway, begin_boot() runs a confirmed slot instead.

Anti-rollback (docs/update.md, "Anti-rollback"): each slot's image has a security counter
(its manifest.json's ``security_counter``, copied from the image's signed TLV; none is 0).
The phone's counter is the highest counter of any image it confirmed, kept in
``security_counter.json`` (written like boot.json, only ever raised, after the confirm that
earned it). No slot whose counter is below it is tested, reverted to or booted.

Every file change goes through this module's `os` so the unit tests can cut the power at
any syscall.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger("hardphone.update")

SLOTS = ("a", "b")
MAX_TRIAL_BOOTS = 1        # MCUboot "test": one unconfirmed boot, then back to the old slot
RESET_EXIT_CODE = 75       # the firmware asks the launcher to start it again (reboot, SMP reset)


class NoBootableSlot(Exception):
    """Neither slot holds a firmware tree the phone may run: nothing the launcher can run."""


class RollbackRefused(ValueError):
    """A slot whose image security counter is below the phone's (anti-rollback)."""


def below_counter(subject: str, counter: int, floor: int) -> str:
    """The one wording of an anti-rollback refusal, on the phone and in flash.sh."""
    return (f"{subject} security counter {counter} is below the phone's {floor} "
            "(anti-rollback)")


@dataclass(frozen=True)
class BootState:
    """boot.json: the trial slot (if any), the slot to go back to, boots counted, confirmed."""
    trial: str | None = None
    previous: str | None = None
    attempts: dict = field(default_factory=dict)
    confirmed: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"trial": self.trial, "previous": self.previous,
                "attempts": {s: self.attempts.get(s, 0) for s in SLOTS},
                "confirmed": {s: bool(self.confirmed.get(s, False)) for s in SLOTS}}

    @classmethod
    def from_json(cls, data) -> BootState:
        """Raises ValueError on anything but the documented shape."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        for key in ("trial", "previous"):
            if data.get(key) not in (None, *SLOTS):
                raise ValueError(f"{key}: not a slot: {data.get(key)!r}")
        attempts, confirmed = data.get("attempts", {}), data.get("confirmed", {})
        if not (isinstance(attempts, dict) and set(attempts) <= set(SLOTS) and all(
                type(n) is int and n >= 0 for n in attempts.values())):
            raise ValueError(f"attempts: {attempts!r}")
        if not (isinstance(confirmed, dict) and set(confirmed) <= set(SLOTS) and all(
                type(c) is bool for c in confirmed.values())):
            raise ValueError(f"confirmed: {confirmed!r}")
        return cls(trial=data.get("trial"), previous=data.get("previous"),
                   attempts={s: attempts.get(s, 0) for s in SLOTS},
                   confirmed={s: confirmed.get(s, False) for s in SLOTS})

    def with_attempts(self, slot, n) -> BootState:
        return replace(self, attempts={**self.attempts, slot: n})

    def with_confirmed(self, slot, yes=True) -> BootState:
        return replace(self, confirmed={**self.confirmed, slot: yes})


class SlotStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.current = self.root / "current"
        self.boot_json = self.root / "boot.json"
        self.counter_json = self.root / "security_counter.json"

    # -- reading ------------------------------------------------------------------------------
    def slot_dir(self, name: str) -> Path:
        if name not in SLOTS:
            raise ValueError(f"no slot {name!r} (slots: {', '.join(SLOTS)})")
        return self.root / "slots" / name

    def version(self, name: str) -> str | None:
        """The firmware version in a slot's manifest.json, None if it has none."""
        try:
            manifest = self.slot_dir(name) / "manifest.json"
            version = json.loads(manifest.read_text("utf-8"))["version"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return version if isinstance(version, str) else None

    def counter(self, name: str) -> int:
        """The security counter of the image a slot was built from (0: none, or no tree)."""
        try:
            manifest = json.loads((self.slot_dir(name) / "manifest.json").read_text("utf-8"))
            counter = manifest.get("security_counter", 0)
        except (OSError, ValueError, AttributeError):
            return 0
        return counter if type(counter) is int and counter >= 0 else 0

    def security_counter(self) -> int:
        """The phone's security counter: the highest counter of any image it confirmed.

        The stored value, or higher if a confirmed slot says so (a cut between the confirm
        and the counter write; a damaged file): a lower bound that is never below the truth
        of what is confirmed now."""
        state = self.state()
        confirmed = [self.counter(s) for s in SLOTS
                     if state.confirmed.get(s) and state.trial != s and self.holds_tree(s)]
        return max([self._stored_counter(), *confirmed])

    def may_run(self, name: str, floor: int | None = None) -> bool:
        """The slot holds firmware whose counter is not below the phone's."""
        floor = self.security_counter() if floor is None else floor
        return self.holds_tree(name) and self.counter(name) >= floor

    def holds_tree(self, name: str) -> bool:
        """The slot has a firmware tree the launcher can run."""
        d = self.slot_dir(name)
        return ((d / "firmware" / "__main__.py").is_file() and (d / "hal").is_dir()
                and (d / "board").is_dir() and self.version(name) is not None)

    def slot_of(self, tree: Path) -> str | None:
        """Which slot directory ``tree`` is, None if it is not one of this root's slots."""
        tree = Path(tree).resolve()
        return next((s for s in SLOTS if self.slot_dir(s).resolve() == tree), None)

    def state(self) -> BootState:
        return self._read()[0]

    def active(self) -> str:
        """The slot `current` points to; a missing or broken `current` is repaired first."""
        slot = self._pointed()
        if slot is not None and self.holds_tree(slot):
            return slot
        back = self._fallback(self.state(), avoid=None)
        if self._is_new():
            log.info("new update root %s: slot %s runs", self.root, back)
        else:
            log.warning("%s %s; pointing it at slot %s", self.current,
                        "is missing" if slot is None else f"-> slot {slot} without firmware",
                        back)
        self._point(back)
        return back

    def inactive(self) -> str:
        return _other(self.active())

    def in_trial(self) -> bool:
        """The slot `current` points to (the running one) is an unconfirmed trial."""
        return self.state().trial == self.active()

    # -- changes ------------------------------------------------------------------------------
    def mark_test(self, slot: str):
        """Ask for one trial boot of ``slot`` at the next start (MCUboot "test")."""
        if not self.holds_tree(slot):
            raise ValueError(f"slot {slot} holds no firmware")
        state, running = self.state(), self.active()
        if slot == running:
            raise ValueError(f"slot {slot} is the one running; test the other slot")
        if state.trial == running:
            raise ValueError(f"slot {running} is on trial; confirm or revert it first")
        self._check_counter(slot)
        self._save(replace(state, trial=slot, previous=running)
                   .with_attempts(slot, 0).with_confirmed(slot, False))

    def begin_boot(self) -> str:
        """The launcher's decision: the slot to run now, with everything persisted first.

        A requested trial gets its one counted boot; a trial that already had it goes back
        to the confirmed slot; otherwise `current` runs.
        """
        state, readable = self._read()
        if not readable:
            # Run what `current` says, as a confirmed slot; the damaged file is kept aside.
            slot = self._allowed(self.active(), BootState())
            log.error("%s unreadable; running slot %s, no trial", self.boot_json, slot)
            _replace_quietly(self.boot_json, self.boot_json.with_suffix(".bad"))
            self._save(BootState().with_confirmed(slot))
            self._raise_counter(self.counter(slot))
            return slot
        floor = self.security_counter()
        current = self.active()
        trial = state.trial
        if trial is not None:
            if state.attempts.get(trial, 0) < MAX_TRIAL_BOOTS and self.may_run(trial, floor):
                if current != trial:
                    self._point(trial)                                      # 1. the switch
                self._save(state.with_attempts(trial, state.attempts.get(trial, 0) + 1))  # 2.
                return trial
            # Its one boot is used (it exited, crashed or lost power), it has no tree, or its
            # image is below the phone's security counter.
            back = self._fallback(state, avoid=trial)
            if self.holds_tree(trial) and not self.may_run(trial, floor):
                log.error("%s; back to slot %s", below_counter(
                    f"trial slot {trial} ({self.version(trial)}): image", self.counter(trial),
                    floor), back)
            else:
                log.warning("slot %s was not confirmed; back to slot %s", trial, back)
            if current != back:
                self._point(back)                                           # 1. the switch
            self._save(replace(state, trial=None, previous=None))           # 2. forget the trial
            current = back
        if not self.may_run(current, floor):
            # Anti-rollback, as MCUboot does before it jumps: never run an image below the
            # phone's counter, whatever `current` says.
            back = self._allowed(current, state)
            self._point(back)
            current = back
        if not state.confirmed.get(current):
            # Neither confirmed nor on trial: never made permanent by accident while a
            # confirmed slot exists. Otherwise (a new root, a last resort) it is the one we have.
            confirmed = self._confirmed(state, avoid=current)
            if confirmed is not None:
                log.warning("slot %s is neither confirmed nor on trial; back to slot %s",
                            current, confirmed)
                self._point(confirmed)
                return confirmed
            log.log(logging.INFO if self._is_new() else logging.WARNING,
                    "slot %s runs and nothing else is confirmed; recording it as confirmed",
                    current)
            self._save(replace(self.state(), trial=None).with_confirmed(current))
        self._raise_counter(self.counter(current))      # heals a cut right after a confirm
        return current

    def confirm(self) -> bool:
        """Make the running slot permanent; False if it already was (nothing to confirm)."""
        state, slot = self.state(), self.active()
        if state.trial != slot and state.confirmed.get(slot):
            return False
        trial = None if state.trial == slot else state.trial
        self._save(replace(state, trial=trial).with_confirmed(slot))
        self._raise_counter(self.counter(slot))         # after the confirm: see begin_boot
        return True

    def revert(self) -> str:
        """Point `current` back at the other, confirmed slot; returns it.

        The running firmware keeps running: the switch takes effect at the next start (a reset).
        """
        state, slot = self.state(), self.active()
        other = _other(slot)
        if not (state.confirmed.get(other) and self.holds_tree(other)):
            raise ValueError(f"no confirmed firmware in slot {other} to go back to")
        self._check_counter(other)
        self._point(other)                                                  # 1. the switch
        previous = slot if state.confirmed.get(slot) else None
        self._save(replace(state, trial=None, previous=previous))           # 2. forget any trial
        return other

    def discard(self, slot: str):
        """Forget a slot before its tree is overwritten: not confirmed, tested or a way back."""
        if slot == self.active():
            raise ValueError(f"slot {slot} is the one running")
        state = self.state()
        self._save(replace(state, trial=None if state.trial == slot else state.trial,
                           previous=None if state.previous == slot else state.previous)
                   .with_attempts(slot, 0).with_confirmed(slot, False))

    # -- internals ----------------------------------------------------------------------------
    def _read(self) -> tuple[BootState, bool]:
        """(state, readable). A missing boot.json is a new root; a damaged one reads as no trial."""
        try:
            return BootState.from_json(json.loads(self.boot_json.read_text("utf-8"))), True
        except FileNotFoundError:
            return BootState(), True
        except (OSError, ValueError) as e:
            log.error("%s: %s", self.boot_json, e)
            return BootState(), False

    def _check_counter(self, slot: str):
        counter, floor = self.counter(slot), self.security_counter()
        if counter < floor:
            raise RollbackRefused(below_counter(f"slot {slot} ({self.version(slot)}): image",
                                                counter, floor))

    def _allowed(self, slot: str, state: BootState) -> str:
        """``slot`` if the phone may run it, else the slot to run instead; NoBootableSlot if
        only images below the phone's counter are left."""
        floor = self.security_counter()
        if self.may_run(slot, floor):
            return slot
        reason = below_counter(f"slot {slot} ({self.version(slot)}): image", self.counter(slot),
                               floor)
        back = self._fallback(state, avoid=slot)
        if not self.may_run(back, floor):
            raise NoBootableSlot(f"{self.root}: {reason}, and no other slot may run")
        log.error("%s; running slot %s instead", reason, back)
        return back

    def _stored_counter(self) -> int:
        try:
            value = json.loads(self.counter_json.read_text("utf-8"))["security_counter"]
            if type(value) is not int or value < 0:
                raise ValueError(f"not a counter: {value!r}")
            return value
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as e:
            # Never silently 0 while a slot is confirmed: security_counter() takes the
            # confirmed slots' counters too, and the next confirm writes the file anew.
            log.error("%s: %s", self.counter_json, e)
            return 0

    def _raise_counter(self, counter: int):
        """Store ``counter`` as the phone's if it is higher; never lowers it."""
        if counter <= self._stored_counter():
            return
        self._write_atomic(self.counter_json,
                           (json.dumps({"security_counter": counter}) + "\n").encode())
        log.info("security counter raised to %d", counter)

    def _is_new(self) -> bool:
        """Nothing written yet: an installer has just put firmware in the slots."""
        return not self.boot_json.exists()

    def _pointed(self) -> str | None:
        """The slot `current` resolves to, None if missing, dangling or pointing elsewhere."""
        try:
            target = self.current.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return next((s for s in SLOTS if self.slot_dir(s).resolve() == target), None)

    def _confirmed(self, state: BootState, avoid: str | None) -> str | None:
        """A confirmed slot with firmware the phone may run, the previous one first."""
        floor = self.security_counter()
        return next((s for s in self._preference(state, avoid)
                     if state.confirmed.get(s) and self.may_run(s, floor)), None)

    def _fallback(self, state: BootState, avoid: str | None) -> str:
        """The slot to go back to: a confirmed one (previous first), else any with firmware;
        slots below the phone's security counter only if nothing else holds firmware."""
        confirmed = self._confirmed(state, avoid)
        if confirmed is not None:
            return confirmed
        floor = self.security_counter()
        for check in (lambda s: self.may_run(s, floor), self.holds_tree):
            for s in [*self._preference(state, avoid), avoid]:
                if s is not None and check(s):
                    return s
        raise NoBootableSlot(f"{self.root}: no slot holds a firmware tree")

    @staticmethod
    def _preference(state: BootState, avoid: str | None) -> list[str]:
        return [s for s in dict.fromkeys((state.previous, *SLOTS)) if s in SLOTS and s != avoid]

    def _point(self, slot: str):
        """Switch `current` to ``slot``: a new symlink renamed over the old one."""
        tmp = self.current.with_name("current.tmp")
        _unlink_quietly(tmp)                          # left over from a cut
        os.symlink(f"slots/{slot}", tmp)
        os.replace(tmp, self.current)
        _fsync_dir(self.root)

    def _save(self, state: BootState):
        """boot.json, atomically."""
        self._write_atomic(self.boot_json, (json.dumps(state.to_json(), indent=1) + "\n").encode())

    def _write_atomic(self, path: Path, data: bytes):
        """tmp written and fsynced, renamed over ``path``, directory fsynced."""
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(self.root)


def _other(slot: str) -> str:
    return "b" if slot == "a" else "a"


def _fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _replace_quietly(src: Path, dst: Path):
    try:
        os.replace(src, dst)
    except OSError as e:
        log.warning("cannot keep %s aside: %s", src, e)
