"""The phone's words as types: what a key, a call, a link, an audio route ... can be called.

Literal types, so a misspelt word is a type error (mypy --strict) while the values stay the
plain strings the console prints, the logs show and the contact-center protocol and the SIP
adapter send (firmware/cc/protocol.py spells the server's words the same way).
"""
from __future__ import annotations

from typing import Literal, get_args

# -- keys (hal/keypad.py KEY_NAMES holds the same names: hal imports nothing from firmware) -----
KeyName = Literal[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#",
    "soft1", "soft2", "soft3", "soft4", "up", "down", "left", "right", "ok", "back",
    "hold", "xfer", "conf", "mute", "headset", "speaker", "redial", "volup", "voldown",
]
KEY_NAMES: tuple[KeyName, ...] = get_args(KeyName)
KeyKind = Literal["down", "up", "long"]

# What a softkey does, besides what a key of the same name does ("ok", "back", "hold").
SoftAction = Literal["accept", "accept_all", "vars", "dec", "inc", "menu", "login", "logout",
                     "state", "about", "answer", "end", "available", "idle", "reject",
                     "submit", "next", "clear",          # these three: a form's
                     "dial",
                     "directory", "favorites", "fav_add", "fav_del",   # directory, favorites
                     "consult", "blind", "transfer", "exit", "swap",   # consult and transfer
                     "who",                                           # a conference
                     "rec",                                           # recording
                     "edit", "show",                                  # call data
                     "call", "skip", "remove",                        # a campaign's preview
                     "record", "message",                  # ... its record's menu, a machine
                     "more", "new", "del", "yes"]          # a call's menu; callbacks
# What a key press means on a screen: a softkey's action, or the key's own name.
Action = KeyName | SoftAction

# -- calls ---------------------------------------------------------------------------------------
# "ringing": an incoming call not answered yet; "calling": one the phone placed, not answered yet
CallState = Literal["ringing", "calling", "talking", "held"]
# from the SIP adapter; "ringing": a call the phone placed rings at the far end (180/183)
SipCallChange = Literal["ringing", "established", "held", "resumed", "ended"]
CallReport = Literal["ringing", "answered", "held", "resumed", "ended"]  # to the server
CallDirection = Literal["out", "in", "missed"]      # a call in the agent's history
# a contact's SIP call on this phone: the customer's (the offer's), or the requesting agent's
# consult leg (docs/cc-protocol.md, "Consult and transfer")
CallLeg = Literal["customer", "consult"]
ConsultStatus = Literal["dialing", "ringing", "talking"]       # how far the consult got
ParticipantKind = Literal["customer", "agent", "number"]
ParticipantState = Literal["ringing", "talking", "held", "music"]

# -- links (the status line) ---------------------------------------------------------------------
SipLink = Literal["off", "registering", "registered", "failed"]         # off: not configured
CcLinkState = Literal["off", "connecting", "up", "down"]

# -- the agent (the server's names, firmware/cc/protocol.py) ---------------------------------------
AgentState = Literal["logged_out", "idle", "available", "reserved", "ringing", "talking", "held",
                     "wrapup"]
AgentChoice = Literal["available", "idle"]          # what the agent may ask for
ContactStatus = Literal["reserved", "offered", "dialing", "assigned", "held", "ended", "wrapup",
                        "wrapped_up", "rona", "withdrawn", "preview", "skipped", "removed"]
# outbound: the agent dialed it; campaign: a campaign's record, previewed, then dialed
ContactKind = Literal["inbound", "outbound", "campaign", "callback"]
CallbackKind = Literal["courtesy", "web", "scheduled"]
CampaignMode = Literal["preview", "standard_preview", "direct_preview", "progressive",
                       "predictive"]
PreviewAction = Literal["call", "skip", "remove"]   # the agent's answer to a previewed record
VariableKind = Literal["text", "date", "datetime"]   # how an editable variable is checked
ReasonKind = Literal["idle", "logout", "wrapup"]    # a reason list: idle and logout codes, wrap-up
# what a directory entry or a favorite is: someone or something the agent can call
EntryKind = Literal["agent", "queue", "entry_point", "number"]
LoginEntry = Literal["agent", "pin"]                # the login screen's field being typed

# -- sound ---------------------------------------------------------------------------------------
Route = Literal["ringer", "handset", "headset", "speaker"]   # where a sound plays
CallRoute = Literal["handset", "headset", "speaker"]         # where a call's far end plays
HandsFree = Literal["headset", "speaker"]                    # chosen with its key during a call
MicRoute = Literal["mic", "headset_mic"]                     # where the agent's voice comes from
# auto_answer: the short beeps before the phone answers an offer by itself (campaigns.py)
Tone = Literal["ring", "test_ring", "auto_answer"]

# -- settings and menus --------------------------------------------------------------------------
Level = Literal["ringer_volume", "handset_volume", "headset_volume", "speaker_volume", "contrast"]
Mode = Literal["backlight"]                         # a setting with fixed values to choose from
Backlight = Literal["on", "auto", "off"]
# record: a campaign's, on its call; call: any other contact's, on its call
MenuName = Literal["main", "settings", "state", "record", "call", "wrapup"]
StorageProblem = Literal["", "full", "failed"]     # "": the phone's state can be written
