"""A/B slots (firmware.update.slots): every transition, damaged state, and a power cut at
every syscall of every change, after which the next boot still finds a bootable slot."""
import json
import os

import pytest

from firmware.update import slots as slots_module
from firmware.update.slots import BootState, NoBootableSlot, RollbackRefused, SlotStore


def make_tree(root, slot, version, counter=None):
    """A slot's tree; ``counter`` the security counter its image had (None: no counter)."""
    d = root / "slots" / slot
    (d / "firmware").mkdir(parents=True)
    (d / "firmware" / "__main__.py").write_text("")
    (d / "hal").mkdir()
    (d / "board").mkdir()
    manifest = {"version": version}
    if counter is not None:
        manifest["security_counter"] = counter
    (d / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def root(tmp_path):
    """A root with firmware in both slots, before its first boot."""
    r = tmp_path / "update"
    make_tree(r, "a", "1.0.0")
    make_tree(r, "b", "2.0.0")
    return r


@pytest.fixture
def booted(root):
    """Slot a booted and confirmed; b holds new firmware."""
    assert SlotStore(root).begin_boot() == "a"
    return root


def on_disk(root):
    return json.loads((root / "boot.json").read_text()), os.readlink(root / "current")


# -- transitions --------------------------------------------------------------------------------
def test_first_boot_runs_a_and_records_it_confirmed(root):
    store = SlotStore(root)
    assert store.begin_boot() == "a"
    assert on_disk(root) == ({"trial": None, "previous": None, "attempts": {"a": 0, "b": 0},
                              "confirmed": {"a": True, "b": False}}, "slots/a")
    assert (store.active(), store.inactive(), store.in_trial()) == ("a", "b", False)
    assert not list(root.glob("*.tmp"))


def test_first_boot_with_only_slot_b(tmp_path):
    make_tree(tmp_path, "b", "2.0.0")
    assert SlotStore(tmp_path).begin_boot() == "b"


def test_no_firmware_anywhere(tmp_path):
    (tmp_path / "slots" / "a").mkdir(parents=True)
    with pytest.raises(NoBootableSlot):
        SlotStore(tmp_path).begin_boot()


def test_versions_and_slot_dirs(root):
    store = SlotStore(root)
    assert (store.version("a"), store.version("b")) == ("1.0.0", "2.0.0")
    (root / "slots" / "b" / "manifest.json").write_text("{")
    assert store.version("b") is None and not store.holds_tree("b")
    assert store.slot_of(root / "slots" / "b") == "b" and store.slot_of(root) is None
    with pytest.raises(ValueError):
        store.slot_dir("c")


def test_test_boot_confirmed(booted):
    store = SlotStore(booted)
    store.mark_test("b")
    assert store.state() == BootState("b", "a", {"a": 0, "b": 0}, {"a": True, "b": False})
    assert store.active() == "a" and not store.in_trial()         # nothing changes until a boot
    assert store.begin_boot() == "b"
    assert store.state().attempts["b"] == 1 and store.in_trial() and store.active() == "b"
    assert store.confirm() is True
    assert store.state() == BootState(None, "a", {"a": 0, "b": 1}, {"a": True, "b": True})
    assert not store.in_trial() and store.confirm() is False      # nothing left to confirm
    assert store.begin_boot() == "b"


@pytest.mark.parametrize("why", ["crashed", "lost its tree"])
def test_unconfirmed_trial_reverts_at_the_next_boot(booted, why):
    store = SlotStore(booted)
    store.mark_test("b")
    assert store.begin_boot() == "b"
    if why == "lost its tree":
        (booted / "slots" / "b" / "manifest.json").unlink()
    assert store.begin_boot() == "a"
    assert store.state().trial is None and store.state().confirmed == {"a": True, "b": False}
    assert os.readlink(booted / "current") == "slots/a"
    assert store.begin_boot() == "a"


def test_a_trial_without_firmware_is_not_started(booted):
    store = SlotStore(booted)
    store.mark_test("b")
    (booted / "slots" / "b" / "hal").rmdir()
    assert store.begin_boot() == "a" and store.state().trial is None


def test_mark_test_refusals(booted):
    store = SlotStore(booted)
    with pytest.raises(ValueError, match="running"):
        store.mark_test("a")
    with pytest.raises(ValueError):
        store.mark_test("c")
    store.mark_test("b")
    store.begin_boot()
    with pytest.raises(ValueError, match="on trial"):
        store.mark_test("a")
    (booted / "slots" / "a" / "manifest.json").unlink()
    with pytest.raises(ValueError, match="holds no firmware"):
        store.mark_test("a")


def test_revert_during_a_trial(booted):
    store = SlotStore(booted)
    store.mark_test("b")
    store.begin_boot()
    assert store.revert() == "a"          # the running b goes on; a runs at the next boot
    assert store.state().trial is None and store.active() == "a"
    assert store.confirm() is False       # a late auto-confirm cannot bring b back
    assert store.begin_boot() == "a"
    with pytest.raises(ValueError, match="no confirmed firmware in slot b"):
        store.revert()


def test_revert_between_two_confirmed_slots(booted):
    store = SlotStore(booted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()
    assert store.revert() == "a" and store.state().previous == "b"
    assert store.begin_boot() == "a"
    assert store.revert() == "b" and store.begin_boot() == "b"


def test_discard_forgets_a_slot_before_it_is_overwritten(booted):
    store = SlotStore(booted)
    store.mark_test("b")
    store.discard("b")
    assert store.state().trial is None and store.begin_boot() == "a"
    with pytest.raises(ValueError):
        store.discard("a")


# -- anti-rollback ------------------------------------------------------------------------------
def stored_counter(root):
    return json.loads((root / "security_counter.json").read_text())["security_counter"]


@pytest.fixture
def counted(tmp_path):
    """Slot a (1.0.0, counter 3) booted and confirmed; b holds 1.1.0 with counter 5."""
    r = tmp_path / "update"
    make_tree(r, "a", "1.0.0", 3)
    make_tree(r, "b", "1.1.0", 5)
    assert SlotStore(r).begin_boot() == "a"
    return r


def test_confirming_raises_the_phones_counter_and_it_is_stored(counted):
    store = SlotStore(counted)
    assert (store.counter("a"), store.counter("b")) == (3, 5)
    assert store.security_counter() == 3 and stored_counter(counted) == 3
    store.mark_test("b")
    assert store.begin_boot() == "b"
    assert store.security_counter() == 3           # a trial does not count yet
    assert store.confirm() is True
    assert store.security_counter() == 5 and stored_counter(counted) == 5
    assert not list(counted.glob("*.tmp"))


def test_a_root_without_counters_counts_as_zero(booted):
    store = SlotStore(booted)
    assert (store.counter("a"), store.security_counter()) == (0, 0)
    assert not (booted / "security_counter.json").exists()   # nothing to store yet
    store.mark_test("b")                                         # and nothing is refused
    assert store.begin_boot() == "b"


def test_the_older_slot_cannot_come_back_once_the_newer_is_confirmed(counted):
    store = SlotStore(counted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()
    why = r"slot a \(1\.0\.0\): image security counter 3 is below the phone's 5 \(anti-rollback\)"
    with pytest.raises(RollbackRefused, match=why):
        store.revert()
    with pytest.raises(RollbackRefused, match=why):
        store.mark_test("a")
    assert store.state().trial is None and os.readlink(counted / "current") == "slots/b"
    assert store.begin_boot() == "b"


def test_an_unconfirmed_trial_does_not_raise_the_counter(counted):
    store = SlotStore(counted)
    store.mark_test("b")
    assert store.begin_boot() == "b"
    assert store.begin_boot() == "a"                # it crashed: back to a, still allowed
    assert store.security_counter() == 3 and stored_counter(counted) == 3


def test_the_launcher_never_boots_a_slot_below_the_counter(counted):
    store = SlotStore(counted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()
    # `current` and boot.json put back to a by hand (or by a bug): the launcher still refuses
    os.unlink(counted / "current")
    os.symlink("slots/a", counted / "current")
    assert store.begin_boot() == "b" and os.readlink(counted / "current") == "slots/b"
    # a trial of a, requested behind mark_test's back: not started
    (counted / "boot.json").write_text(json.dumps(
        {"trial": "a", "previous": "b", "attempts": {}, "confirmed": {"a": True, "b": True}}))
    assert store.begin_boot() == "b" and store.state().trial is None
    # a damaged boot.json with `current` -> a: runs b, and confirms that
    os.unlink(counted / "current")
    os.symlink("slots/a", counted / "current")
    (counted / "boot.json").write_text("{")
    assert store.begin_boot() == "b" and store.state().confirmed == {"a": False, "b": True}
    assert stored_counter(counted) == 5


def test_nothing_boots_when_every_slot_is_below_the_counter(counted):
    store = SlotStore(counted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()
    (counted / "slots" / "b" / "manifest.json").write_text(
        json.dumps({"version": "1.1.0", "security_counter": 1}))    # tampered
    with pytest.raises(NoBootableSlot, match="below the phone's 5 .anti-rollback., and no "
                                             "other slot may run"):
        store.begin_boot()


def test_the_stored_counter_is_never_lowered(counted):
    store = SlotStore(counted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()
    assert stored_counter(counted) == 5
    # both trees replaced by hand with a lower counter: the phone keeps its counter, and
    # refuses to run them
    for s in ("a", "b"):
        (counted / "slots" / s / "manifest.json").write_text(
            json.dumps({"version": "0.9.0", "security_counter": 4}))
    store._raise_counter(4)
    assert stored_counter(counted) == 5 and store.security_counter() == 5
    with pytest.raises(NoBootableSlot):
        store.begin_boot()
    assert stored_counter(counted) == 5


@pytest.mark.parametrize("text", ["{", '{"security_counter": -1}', '{"security_counter": "9"}',
                                  "[]"])
def test_a_damaged_counter_file_falls_back_to_the_confirmed_slots(counted, text):
    store = SlotStore(counted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()
    (counted / "security_counter.json").write_text(text)
    assert store.security_counter() == 5                # b is confirmed: at least its counter
    with pytest.raises(RollbackRefused):
        store.revert()


# -- damaged state ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["{not json", "[]", '{"trial": "c"}', '{"attempts": {"a": "x"}}',
                                  '{"confirmed": {"a": 1}}', "\xff"])
def test_damaged_boot_json_runs_current_without_trial(booted, text):
    store = SlotStore(booted)
    store.mark_test("b")
    store.begin_boot()                                         # b on trial, current -> b
    (booted / "boot.json").write_text(text, encoding="latin-1")
    assert store.state().trial is None
    assert store.begin_boot() == "b"
    assert store.state() == BootState(None, None, {"a": 0, "b": 0}, {"a": False, "b": True})
    assert (booted / "boot.bad").read_bytes() == text.encode("latin-1")


@pytest.mark.parametrize("damage", ["missing", "dangling", "elsewhere", "empty slot"])
def test_broken_current_is_repaired_to_the_confirmed_slot(booted, damage):
    store = SlotStore(booted)
    store.mark_test("b")
    store.begin_boot()
    store.confirm()                        # b confirmed, a confirmed, previous a
    current = booted / "current"
    current.unlink()
    if damage == "dangling":
        current.symlink_to("slots/c")
    elif damage == "elsewhere":
        current.symlink_to("..")
    elif damage == "empty slot":
        current.symlink_to("slots/b")
        (booted / "slots" / "b" / "firmware" / "__main__.py").unlink()
    assert store.begin_boot() == "a"       # previous, confirmed, holds firmware
    assert os.readlink(current) == "slots/a"


def test_an_unconfirmed_slot_without_trial_never_becomes_permanent(booted):
    store = SlotStore(booted)
    store.mark_test("b")
    store.begin_boot()
    (booted / "boot.json").write_text(json.dumps(
        {"trial": None, "previous": "a", "attempts": {"b": 1}, "confirmed": {"a": True}}))
    assert store.begin_boot() == "a" and not store.state().confirmed["b"]


def test_leftovers_of_a_cut_are_harmless(booted):
    (booted / "current.tmp").symlink_to("slots/b")
    (booted / "boot.json.tmp").write_text("{half")
    store = SlotStore(booted)
    store.mark_test("b")
    assert store.begin_boot() == "b" and not list(booted.glob("*.tmp"))


# -- power cuts ---------------------------------------------------------------------------------
class PowerCut(Exception):
    pass


class CuttingOs:
    """slots.py's ``os``: the Nth call that changes the disk fails, and so does every call after
    it (the power is off). A cut write leaves half its bytes. ``trace`` keeps what completed."""
    CHANGING = frozenset({"open", "write", "fsync", "close", "replace", "symlink", "unlink"})

    def __init__(self, cut_at=None):
        self.cut_at, self.count, self.off, self.trace = cut_at, 0, False, []

    def __getattr__(self, name):
        real = getattr(os, name)
        if name not in self.CHANGING:
            return real

        def call(*args, **kwargs):
            if self.off or self.count + 1 == self.cut_at:
                if name == "close":                  # the fd goes anyway; keep the test clean
                    real(*args)
                elif name == "write" and not self.off:
                    real(args[0], bytes(args[1])[:len(args[1]) // 2])
                self.count += not self.off
                self.off = True
                raise PowerCut(f"{name} #{self.cut_at}")
            self.count += 1
            self.trace.append((name, args))
            return real(*args, **kwargs)
        return call


def boot_a_with_b_on_trial(store):
    store.mark_test("b")
    store.begin_boot()


STEPS = {
    "first boot": (None, lambda s: s.begin_boot()),
    "test and confirm": ("booted", lambda s: (s.mark_test("b"), s.begin_boot(), s.confirm())),
    "test that crashes": ("booted", lambda s: (boot_a_with_b_on_trial(s), s.begin_boot())),
    "test then revert": ("booted", lambda s: (boot_a_with_b_on_trial(s), s.revert())),
    "confirm then revert": ("booted", lambda s: (boot_a_with_b_on_trial(s), s.confirm(),
                                                 s.revert(), s.begin_boot())),
    "damaged boot.json": ("damaged", lambda s: s.begin_boot()),
    "missing current": ("no current", lambda s: s.begin_boot()),
    "test and confirm a higher counter": ("booted", lambda s: (s.mark_test("b"), s.begin_boot(),
                                                               s.confirm())),
}
COUNTERS = {"test and confirm a higher counter": (3, 5)}     # slot a's, slot b's


def prepare(root, start):
    if start in ("booted", "damaged", "no current"):
        SlotStore(root).begin_boot()
    if start == "damaged":
        (root / "boot.json").write_text("{")
    if start == "no current":
        (root / "current").unlink()


def make_trees(root, name):
    a, b = COUNTERS.get(name, (None, None))
    make_tree(root, "a", "1.0.0", a)
    make_tree(root, "b", "2.0.0", b)


def changes(tmp_path, name):
    """How many disk-changing calls the steps make without a cut."""
    start, steps = STEPS[name]
    root = tmp_path / "count"
    make_trees(root, name)
    prepare(root, start)
    cutter = CuttingOs()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(slots_module, "os", cutter)
        steps(SlotStore(root))
    return cutter


@pytest.mark.parametrize("name", STEPS)
def test_power_cut_at_every_syscall(tmp_path, name):
    start, steps = STEPS[name]
    total = changes(tmp_path, name).count
    assert total > 3
    for n in range(1, total + 1):
        root = tmp_path / f"cut{n}"
        make_trees(root, name)
        prepare(root, start)
        ran_trial, confirmed = [], []       # what completed before the cut
        store = SlotStore(root)
        original_boot, original_confirm = store.begin_boot, store.confirm

        def begin_boot():
            slot = original_boot()
            if store.state().trial == slot:
                ran_trial.append(slot)
            return slot

        def confirm():
            confirmed.append(store.active())
            return original_confirm()
        store.begin_boot, store.confirm = begin_boot, confirm
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(slots_module, "os", CuttingOs(cut_at=n))
            with pytest.raises(PowerCut):
                steps(store)
        # Power back: the launcher's decision, on a fresh store.
        after = SlotStore(root)
        slot = after.begin_boot()
        state = after.state()
        where = f"cut at change {n} of {total} in {name!r}: {state}"
        assert after.holds_tree(slot) and after.active() == slot, where
        assert state.confirmed["a"], where                  # the confirmed slot is never lost
        if "b" not in confirmed:                            # only confirm() makes b permanent
            assert not state.confirmed["b"], where
        if state.trial is None:
            assert state.confirmed[slot], where
        else:                                               # a first, counted trial boot
            assert state.trial == slot and state.attempts[slot] == 1, where
            assert slot not in ran_trial, where             # never a second unconfirmed boot
            assert after.begin_boot() == "a", where         # and it crashes: back to a
            assert after.state().trial is None, where
        if name in COUNTERS:        # the counter of every confirmed slot is stored by now
            state = after.state()
            want = max(after.counter(s) for s in ("a", "b") if state.confirmed[s])
            assert json.loads((root / "security_counter.json").read_text()) == \
                {"security_counter": want}, where


@pytest.mark.parametrize("name", STEPS)
def test_every_replace_is_synced_before_and_after(tmp_path, name):
    trace = [call for call, _args in changes(tmp_path, name).trace]
    replaces = [i for i, call in enumerate(trace) if call == "replace"]
    assert replaces
    for i in replaces:
        before = trace[:i]
        if "write" in before:        # boot.json: the data is on disk before the rename
            last_write = len(before) - 1 - before[::-1].index("write")
            assert "fsync" in before[last_write:], trace
        following = trace[i + 1:]
        next_change = next((j for j, c in enumerate(following) if c in ("replace", "symlink")),
                           len(following))
        assert "fsync" in following[:next_change], trace   # the directory entry too
