"""The phone's state on a really full disk (a small tmpfs as its state_dir): a request the
server acknowledged is never sent again after a reboot, the LCD says `Storage full`, and a
settings Save that fails says so. Kamailio, ccsim and the phone are real processes."""
import time


from tests.fullfs import fill, small_tmpfs
from tools.lab import Desk


def test_an_acknowledged_state_is_not_replayed_after_a_reboot_on_a_full_disk(lab, tmp_path):
    with small_tmpfs(tmp_path / "phone" / "state", size="256k") as state:
        desk = Desk(lab.phone("1001", name="phone"))
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        lab.ccsim.kill()                         # offline: the request waits in the outbox
        desk.wait_status(cc="down")
        desk.key("soft1", "1")                   # State -> Available
        lab.wait_for(lambda: b'available' in (state / "cc-outbox.dat").read_bytes(),
                     desc="the request in the outbox")
        fill(state)                              # ... and the disk fills up
        desk.wait_lcd("Storage full")

        lab.ccsim.start()                        # the server takes it and acknowledges it
        lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
        desk.key("soft1", "2")                   # then the agent chooses Idle: Lunch
        desk.wait_lcd("Idle reason")
        desk.type("586")
        desk.wait_lcd("Lunch")
        desk.key("soft1")
        lab.wait_for(lambda: lab.agent("1001")["state"] == "idle", desc="idle at ccsim")
        desk.wait_lcd("Idle: Lunch")

        desk.key("ok", "1", "1", "volup", "ok")  # Menu > Settings > Ringer volume, up, Save
        assert "Settings not saved" in desk.wait_lcd("not saved")

        cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
        desk = lab.power_cycle(desk)             # a reboot, the disk still full
        desk.wait_status(cc="up", timeout=10)
        assert "Storage full" in desk.wait_lcd("Storage full")
        time.sleep(2.0)                          # room for a replayed request to arrive
        agent = lab.agent("1001")
        assert (agent["state"], agent["reason"]) == ("idle", "lunch"), agent
        assert lab.contact(cid)["state"] == "queued"     # nobody was reserved for it
        desk.close()
