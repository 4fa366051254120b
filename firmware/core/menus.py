"""The menu tree and the settings it edits, as data."""
from __future__ import annotations

from dataclasses import dataclass

from .model import BACKLIGHT_MODES, level_max
from .vocab import AgentChoice, Backlight, CallRoute, Level, MenuName, Mode, ReasonKind


# -- what a menu item opens (update._open) -------------------------------------------------------
@dataclass(frozen=True)
class OpenMenu:
    menu: MenuName


@dataclass(frozen=True)
class Adjust:
    """An AdjustScreen for a numeric setting."""
    setting: Level


@dataclass(frozen=True)
class Choose:
    """A ChoiceScreen for a setting with fixed values."""
    setting: Mode


@dataclass(frozen=True)
class Noise:
    """The NoiseScreen: noise removal on the agent's voice, per route."""


@dataclass(frozen=True)
class HeadsetMode:
    """Turn headset mode on or off (Settings.headset_mode), at once."""


@dataclass(frozen=True)
class Script:
    """The campaign's script (firmware.core.campaigns)."""


@dataclass(frozen=True)
class Reschedule:
    """Call the record again later: a date and time (firmware.core.campaigns)."""


@dataclass(frozen=True)
class RecordData:
    """The record's fields, the editable ones updated (firmware.core.calldata)."""


@dataclass(frozen=True)
class NewCallback:
    """Schedule a callback: its form (firmware.core.callbacks)."""


@dataclass(frozen=True)
class CallbackList:
    """Scheduled callbacks: the agent's own, or on a call the customer's (callbacks.py)."""


@dataclass(frozen=True)
class Note:
    """The wrap-up note of the contact in view (firmware.core.notes)."""


@dataclass(frozen=True)
class Help:
    """Ask a supervisor for help, or cancel the request (firmware.core.helprequest)."""


@dataclass(frozen=True)
class ReportCall:
    """Report a call that sounded bad: the one in view, else the last (callreport.py)."""


@dataclass(frozen=True)
class SendLogs:
    """Upload the phone's recent log, redacted, to the server (firmware.core.logsend)."""


@dataclass(frozen=True)
class Messages:
    """Play one of the centre's pre-recorded messages into the call (messages.py)."""


@dataclass(frozen=True)
class FollowUp:
    """Schedule a follow-up: a reminder the server brings back (followups.py)."""


@dataclass(frozen=True)
class VoiceApps:
    """Connect the customer to a voice application: an IVR, a signature (voiceapps.py)."""


@dataclass(frozen=True)
class Voicemail:
    """Call the agent's voicemail box (firmware.core.voicemail)."""


@dataclass(frozen=True)
class Forwarding:
    """The agent's call forwarding (firmware.core.forwarding)."""


@dataclass(frozen=True)
class About:
    pass


@dataclass(frozen=True)
class GoState:
    """Ask the server for this state."""
    state: AgentChoice


@dataclass(frozen=True)
class PickReason:
    """A ReasonScreen: pick a code, then go idle or log out with it."""
    kind: ReasonKind


@dataclass(frozen=True)
class History:
    """The agent's call history."""


@dataclass(frozen=True)
class Directory:
    """The server's directory (firmware.core.directory)."""


@dataclass(frozen=True)
class Favorites:
    """The agent's favorites (firmware.core.favorites)."""


@dataclass(frozen=True)
class Tasks:
    """Every offer and call on the phone (firmware.core.tasks)."""


@dataclass(frozen=True)
class Campaigns:
    """The outbound campaigns the agent is in (firmware.core.campaigns)."""


Target = (OpenMenu | Adjust | Choose | Noise | HeadsetMode | About | GoState | PickReason
          | History | Directory | Favorites | Tasks | Campaigns | Script | Reschedule
          | RecordData | NewCallback | CallbackList | Note | Help | ReportCall | SendLogs
          | Messages | FollowUp | VoiceApps | Voicemail | Forwarding)


@dataclass(frozen=True)
class Item:
    label: str
    opens: Target


MENUS: dict[MenuName, tuple[str, tuple[Item, ...]]] = {
    "main": ("Menu", (
        Item("Settings", OpenMenu("settings")),
        Item("About", About()),
        Item("Call history", History()),
        Item("Directory", Directory()),
        Item("Favorites", Favorites()),
        Item("Tasks", Tasks()),
        Item("Campaigns", Campaigns()),
        Item("Callbacks", CallbackList()),
        Item("Help", Help()),
        Item("Report last call", ReportCall()),
        Item("Send logs", SendLogs()),
        Item("Follow-up", FollowUp()),
        Item("Voicemail", Voicemail()),
        Item("Forwarding", Forwarding()),
    )),
    "settings": ("Settings", (
        Item("Ringer volume", Adjust("ringer_volume")),
        Item("Handset volume", Adjust("handset_volume")),
        Item("Headset volume", Adjust("headset_volume")),
        Item("Speaker volume", Adjust("speaker_volume")),
        Item("Contrast", Adjust("contrast")),
        Item("Backlight", Choose("backlight")),
        Item("Noise removal", Noise()),
        Item("Headset mode", HeadsetMode()),
    )),
    "state": ("State", (
        Item("Available", GoState("available")),
        Item("Idle", PickReason("idle")),
        Item("Logout", PickReason("logout")),
    )),
    "record": ("Record", (           # a campaign's record, from its call or its wrap-up
        Item("Script", Script()),
        Item("Reschedule", Reschedule()),
        Item("Fields", RecordData()),
        Item("Next state", OpenMenu("state")),
        Item("Note", Note()),
        Item("Help", Help()),
        Item("Report call", ReportCall()),
        Item("Message", Messages()),
        Item("Follow-up", FollowUp()),
        Item("App", VoiceApps()),
    )),
    "call": ("Call", (               # any other contact's, from its call (More)
        Item("Next state", OpenMenu("state")),
        Item("Callback", NewCallback()),
        Item("Callbacks", CallbackList()),
        Item("Note", Note()),
        Item("Help", Help()),
        Item("Report call", ReportCall()),
        Item("Message", Messages()),
        Item("Follow-up", FollowUp()),
        Item("App", VoiceApps()),
    )),
    "wrapup": ("Wrap-up", (          # any other contact's wrap-up (More)
        Item("Note", Note()),
        Item("Help", Help()),
        Item("Report call", ReportCall()),
        Item("Callback", NewCallback()),
        Item("Follow-up", FollowUp()),
    )),
}

# setting -> (title, maximum)
ADJUSTABLE: dict[Level, tuple[str, int]] = {
    "ringer_volume": ("Ringer volume", level_max("ringer_volume")),
    "handset_volume": ("Handset volume", level_max("handset_volume")),
    "headset_volume": ("Headset volume", level_max("headset_volume")),
    "speaker_volume": ("Speaker volume", level_max("speaker_volume")),
    "contrast": ("Contrast", level_max("contrast")),
}

# the NoiseScreen's rows, in CALL_ROUTES order
NOISE_TITLE = "Noise removal"
NOISE_LABELS: dict[CallRoute, str] = {"handset": "Handset", "headset": "Headset",
                                      "speaker": "Speaker"}

# setting -> (title, ((value, label), ...))
CHOICES: dict[Mode, tuple[str, tuple[tuple[Backlight, str], ...]]] = {
    "backlight": ("Backlight", tuple(zip(BACKLIGHT_MODES, ("Always on", "Auto off 30s", "Off")))),
}
