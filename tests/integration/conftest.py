"""The lab most integration tests run in: Kamailio, ccsim and its customers (tools/lab.py),
and agent 1001's desk phone logged in and registered."""
import pytest

from tools.lab import Desk, Lab


@pytest.fixture
def lab(request, tmp_path):
    """``@pytest.mark.cc_settings({...})``: the contact-center settings for the test;
    ``@pytest.mark.voicemail``: the lab runs the voicemail service."""
    marker = request.node.get_closest_marker("cc_settings")
    with Lab(tmp_path, settings=marker.args[0] if marker else {},
             voicemail=request.node.get_closest_marker("voicemail") is not None) as lab:
        lab.start()
        yield lab


@pytest.fixture
def desk(lab):
    desk = Desk(lab.phone("1001"))
    desk.wait_status(agent="IDLE", cc="up", sip="registered")
    yield desk
    desk.close()
