"""Consult and transfer at a real ccsim process over a real WebSocket (docs/cc-protocol.md,
"Consult and transfer"). The full bridged path (customer on music, the two agents' legs, the
transfer) is covered at the engine by tests/unit/test_ccsim_consult.py; here: the messages
reach the engine through the server, and without the media bridge they are refused with a
reason and change nothing."""
import aiohttp

from firmware.cc import protocol as p
from tests.integration.test_ccsim import Admin, CcSim, Phone, asynchronous
from tests.integration.test_ccsim import ccsim  # noqa: F401 - the fixture


@asynchronous
async def test_without_the_bridge_consult_and_transfer_are_refused_and_change_nothing(ccsim):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, ccsim.api)
        ana, ben = (await Phone(http, ccsim.ws_url).connect(),
                    await Phone(http, ccsim.ws_url).connect())
        await ana.hello("1001", "1234")
        await ben.hello("1002", "5678")
        await ana.ok(p.SetState, state="available")
        await ben.ok(p.SetState, state="available")
        cid = await admin.new_contact("support")        # only 1001 is in support
        await ana.contact("reserved")
        await ana.ok(p.CallEvent, contact=cid, event="answered")
        await ana.contact("assigned")

        for i, message in enumerate((
                p.Consult(id="x1", contact=cid, kind="agent", target="1002"),
                p.Transfer(id="x2", contact=cid, kind="agent", target="1002"),
                p.Transfer(id="x3", contact=cid), p.ExitConsult(id="x4", contact=cid))):
            await ana.ws.send_str(p.encode(message))
            reply = await ana.reply(f"x{i + 1}")
            assert isinstance(reply, p.Error) and reply.code == "not_allowed", reply
            assert "[bridge] enabled" in reply.message or i == 3, reply
        assert await ben.refused(p.ExitConsult, contact=cid) == "unknown_contact"
        # the consult leg's call events are taken (and, with no consult, ignored)
        await ana.ok(p.CallEvent, contact=cid, event="held", leg="consult")

        view = await admin.get(f"/contacts/{cid}")
        assert (view["state"], view["agent"], view["control"], view["consult"],
                view["wrapup_owed"]) == ("assigned", "1001", "1001", None, [])
        assert (await admin.get("/agents/1002"))["state"] == "available"


def test_the_scenario_takes_capacity_routed_entry_points(tmp_path):
    sim = CcSim(tmp_path, extra='\n[[entry_points]]\nname = "Partners"\nnumber = "8100"\n'
                                'queue = "support"\nteam_routing = "capacity"\n').start()
    sim.stop()
    bad = tmp_path / "bad"
    bad.mkdir()
    sim = CcSim(bad, extra='\n[[entry_points]]\nname = "Partners"\nnumber = "8100"\n'
                           'queue = "support"\nteam_routing = "skills"\n')
    try:
        sim.start(timeout=5)
    except Exception as e:      # noqa: BLE001 - the refusal's text is what is checked
        assert "team_routing: one of queue, capacity, got 'skills'" in (
            str(e) + (bad / "ccsim.log").read_text())
    else:
        sim.stop()
        raise AssertionError("a bad team_routing was accepted")
