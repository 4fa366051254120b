"""The voicemail service (tools/voicemail.py) in its own process, driven from a synchronous
caller (tools/lab.py): started at the proxy with the lab's password, told where ccsim's admin
API is and where to keep the audio; its events are JSON lines (``events``, ``wait``)."""
from __future__ import annotations

from pathlib import Path

from tools.ccsim.customers_process import LabProcess

USER = "voicemail"              # the SIP user it registers as: Kamailio's voicemail_user


class VoicemailProcess(LabProcess):
    module = "tools.voicemail"
    name = "voicemail"

    def __init__(self, proxy: str, listen: str, password: str, api: str, directory: Path,
                 user: str = USER, extra_args: tuple[str, ...] = (),
                 ready_timeout: float | None = 15):
        super().__init__(proxy, listen, password, ("--api", api, "--dir", str(directory),
                                                   "--user", user, *extra_args),
                         ready_timeout)
        self.user, self.directory = user, directory
