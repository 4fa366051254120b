"""The four softkeys under the display: a (label, action) pair per key for each screen.
Labels are at most 5 characters (a key's width on the 20-column display), and two 5-character
labels side by side leave no room for a 4-character one between them."""
from __future__ import annotations

from collections.abc import Callable

from . import calldata, campaigns, consult, directory, favorites, recording, textentry
from .dispatch import narrow, rule_for
from .form import FieldKind
from .model import (CALL_ROUTES, AboutScreen, AdjustScreen, BootScreen, CallbacksScreen,
                    CallDataScreen, CallScreen, CampaignsScreen, ChoiceScreen, ConnectingPopover,
                    DialScreen, DirectoryScreen, FavoritesScreen, FollowUpScreen, FormScreen,
                    HistoryScreen, IdleScreen, LoginScreen, MenuScreen, Model, NoiseScreen,
                    OfferPopover, PeopleScreen, PreviewPopover, ReasonScreen, RonaPopover, Screen,
                    ScriptScreen, TaskScreen, VarsScreen)
from .vocab import Action, KeyName

Softkey = tuple[str, Action] | None       # (label, action) or no key
Softkeys = tuple[Softkey, Softkey, Softkey, Softkey]
SOFTKEYS: dict[KeyName, int] = {"soft1": 0, "soft2": 1, "soft3": 2, "soft4": 3}

BACK: Softkey = ("Back", "back")

_FIXED: dict[type[Screen], Softkeys] = {
    BootScreen: (None, None, None, None),
    MenuScreen: (("Open", "ok"), None, None, BACK),
    AdjustScreen: (("-", "dec"), ("+", "inc"), ("Save", "ok"), BACK),
    ChoiceScreen: (("Set", "ok"), None, None, BACK),
    AboutScreen: (None, None, None, BACK),
    ConnectingPopover: (None, None, None, None),
    RonaPopover: (("Avail", "available"), ("Idle", "idle"), None, None),
    VarsScreen: (None, None, None, BACK),
    PeopleScreen: (None, None, None, BACK),
    TaskScreen: (("Go", "ok"), None, None, BACK),
    CampaignsScreen: (None, None, None, BACK),
    ScriptScreen: (None, None, None, BACK),
    FollowUpScreen: (("OK", "ok"), None, None, None),
}


def softkeys(m: Model, screen: Screen) -> Softkeys:
    if type(screen) in _FIXED:
        return _FIXED[type(screen)]
    return rule_for(_BY_MODEL, type(screen))(m, screen)


def action_for(m: Model, screen: Screen, key: KeyName) -> Action | None:
    """The action a key means on a screen: softkeys by their map (None: no key there), other
    keys by name."""
    if key in SOFTKEYS:
        sk = softkeys(m, screen)[SOFTKEYS[key]]
        return sk[1] if sk else None
    return key


def _home(m: Model, _s: IdleScreen) -> Softkeys:
    if m.agent is not None:
        return (("State", "state"), ("Menu", "menu"), ("Out", "logout"), ("Info", "about"))
    login: Softkey = None if m.login_pending else ("Login", "login")
    return (login, None, ("Menu", "menu"), ("Info", "about"))


def _login(_m: Model, s: LoginScreen) -> Softkeys:
    typed = s.agent if s.entry == "agent" else s.pin
    ok: Softkey = ("Next", "ok") if s.entry == "agent" else ("Login", "ok")
    return (ok, None, None, ("Del", "back") if typed else BACK)


def _noise(m: Model, s: NoiseScreen) -> Softkeys:
    """The first key says what it does to the route under the cursor."""
    on = m.settings.noise_removal(CALL_ROUTES[s.cursor])
    return (("Off", "ok") if on else ("On", "ok"), None, None, BACK)


def _reasons(m: Model, s: ReasonScreen) -> Softkeys:
    if s.kind == "wrapup":      # owed: no way out, but the next state can be set from here
        # a campaign's record: More (its script, a reschedule, its fields)
        # any other: More (a note, help, a call report, a callback)
        more: Softkey = ("More", "record") if campaigns.dispositions(m, s.contact) is not None \
            else ("More", "more")
        return (("OK", "ok"), more, ("State", "state"), ("Del", "back") if s.query else None)
    return (("OK", "ok"), None, None, ("Del", "back") if s.query else BACK)


def _offer(m: Model, _s: OfferPopover) -> Softkeys:
    """Accept under the first key, Reject under the last (as a desk phone's Answer and Reject:
    the two far apart, so a slip never turns a customer away), All beside Accept."""
    accept_all = m.agent is not None and m.agent.cc.accept_all and len(m.offers()) > 1
    return (("Accpt", "accept"), ("All", "accept_all") if accept_all else None,
            ("Vars", "vars"), ("Rejct", "reject"))


def _preview(m: Model, s: PreviewPopover) -> Softkeys:
    """Call under the first key, Remove under the last (far from Call: it is for good); Skip
    and Remove only where the campaign allows them; Out: a logout, negotiated (the server
    takes the record back)."""
    contact = m.contact(s.contact)
    if contact is None:
        return (None, None, None, None)
    return (("Call", "call"),
            ("Skip", "skip") if campaigns.allowed(m, contact, "skip") else None,
            ("Out", "logout"),
            ("Remov", "remove") if campaigns.allowed(m, contact, "remove") else None)


def _dial(_m: Model, s: DialScreen) -> Softkeys:
    if s.consult:                   # a consult or transfer target (consult.py)
        return (("Cnslt", "consult"), ("Dir", "directory"), ("Blind", "blind"),
                ("Del", "back") if s.number else BACK)
    return (("Dial", "dial"), ("Dir", "directory"), ("Favs", "favorites"),
            ("Del", "back") if s.number else BACK)


def _directory(_m: Model, s: DirectoryScreen) -> Softkeys:
    """Dial and Fav+ while an entry is in view; Del deletes a search digit, as in the reason
    lists."""
    entry = bool(directory.matching(s))
    if s.consult:                   # a consult or transfer target (consult.py)
        return (("Cnslt", "consult") if entry else None, ("Blind", "blind") if entry else None,
                None, ("Del", "back") if s.query else BACK)
    return (("Dial", "ok") if entry else None, ("Fav+", "fav_add") if entry else None, None,
            ("Del", "back") if s.query else BACK)


def _favorites(m: Model, s: FavoritesScreen) -> Softkeys:
    """Del deletes a favorite (a second press, Yes under the same key, confirms); a search
    is cleared with Clear, digit by digit with the back key."""
    if s.confirm:
        return (None, None, ("Yes", "fav_del"), ("No", "back"))
    shown = bool(favorites.listed(m, s))
    return (("Dial", "ok") if shown else None,
            ("Add", "fav_add") if favorites.can_add(m, s) else None,
            ("Del", "fav_del") if shown else None,
            ("Clear", "clear") if s.query else BACK)


def _history(m: Model, _s: HistoryScreen) -> Softkeys:
    """Dial and Fav+ while a call is in view, as in the directory."""
    return (("Dial", "dial") if m.history else None, ("Fav+", "fav_add") if m.history else None,
            None, BACK)


def _call(m: Model, s: CallScreen) -> Softkeys:
    call = m.call(s.call)
    if call is not None and call.state == "calling":
        # a campaign's call is ended before it connects only where the campaign says so
        contact = m.contact(call.contact)
        campaign = campaigns.campaign_of(m, contact)
        if campaign is not None:
            return (None, ("Cancl", "end") if campaign.cancel else None, None, None)
        if contact is not None and contact.kind == "callback":   # where its queue allows it
            return (None, ("Cancl", "end") if contact.cancel else None, None, None)
        return (None, ("End", "end"), None, None)
    vars_: Softkey = ("Vars", "vars") if call and m.contact(call.contact) else None
    if call is None or call.state == "ringing":
        return (None if call is None or call.accepted else ("Answr", "answer"), None, vars_, None)
    hold: Softkey = ("Resum", "hold") if call.state == "held" else ("Hold", "hold")
    state: Softkey = ("State", "state") if m.agent is not None else None
    # consult and transfer (consult.py): Swap to the contact's other leg; on the consult leg
    # Exit, and Xfer once the consulted party answered; a consulted agent may Exit (no State:
    # "Exit" leaves no room for it)
    swap: Softkey = ("Swap", "swap") if sum(
        1 for c in m.shown_calls() if call.contact and c.contact == call.contact) > 1 else None
    if call.leg == "consult":
        xfer: Softkey = (("Xfer", "transfer") if consult.consult_talking(m, call.contact)
                         else None)
        return (hold, ("Exit", "exit"), xfer, swap)
    contact = m.contact(call.contact)
    # recording.py: while the contact records, the 4th key is the recording's (a consult's
    # two legs still swap with left and right)
    rec = recording.recording(m, call)
    rec_key: Softkey = None if rec is None else ("Resum", "rec") if rec.paused else ("Pause",
                                                                                    "rec")
    if contact is not None and contact.conference is not None:    # conference.py
        leave: Softkey = ("End", "end") if contact.primary else ("Exit", "exit")
        return (hold, leave, ("Who", "who"), rec_key or swap or vars_)
    if consult.consulted(m, call):
        return (hold, ("Exit", "exit"), vars_, None)
    # a campaign's record: More (its script, a reschedule, its fields, the next state); any
    # other contact's: More (the next state, a callback, the customer's callbacks)
    more: Softkey = (None if contact is None else ("More", "record")
                     if contact.kind == "campaign" else ("More", "more"))
    if campaigns.can_leave_message(m, contact):     # a machine: leave the campaign's message
        vars_ = ("Msg", "message")
    return (hold, ("End", "end"), vars_, rec_key or swap or more or state)


def _call_data(m: Model, s: CallDataScreen) -> Softkeys:
    """Edit on an editable variable, Show on a secure one (calldata.py)."""
    v = calldata.selected(m, s)
    key: Softkey = None
    if v is not None and v.secure:
        key = ("Show", "show")
    elif v is not None and v.editable:
        key = ("Edit", "edit")
    return (key, None, None, BACK)


def _form(_m: Model, s: FormScreen) -> Softkeys:
    """Save checks every field; Del deletes before the cursor, Back leaves the form."""
    f = s.form
    nxt: Softkey = ("Next", "next") if len(f.fields) > 1 else None
    clear: Softkey = ("Clear", "clear") if f.editor.value else None
    typing = f.field.kind is not FieldKind.CHOICE and textentry.can_delete(f.editor)
    return (("Save", "submit"), nxt, clear, ("Del", "back") if typing else BACK)


def _callbacks(m: Model, s: CallbacksScreen) -> Softkeys:
    """New; Edit and Del on the one under the cursor; Del asks Yes / No first."""
    if s.confirm:
        return (None, None, ("Yes", "yes"), ("No", "back"))
    some = bool(m.callbacks)
    return (("New", "new"), ("Edit", "edit") if some else None, ("Del", "del") if some else None,
            BACK)


_BY_MODEL: dict[type[Screen], Callable[[Model, object], Softkeys]] = {
    IdleScreen: narrow(IdleScreen, _home), LoginScreen: narrow(LoginScreen, _login),
    ReasonScreen: narrow(ReasonScreen, _reasons), OfferPopover: narrow(OfferPopover, _offer),
    PreviewPopover: narrow(PreviewPopover, _preview),
    CallScreen: narrow(CallScreen, _call), FormScreen: narrow(FormScreen, _form),
    CallDataScreen: narrow(CallDataScreen, _call_data),
    DialScreen: narrow(DialScreen, _dial),
    HistoryScreen: narrow(HistoryScreen, _history),
    DirectoryScreen: narrow(DirectoryScreen, _directory),
    FavoritesScreen: narrow(FavoritesScreen, _favorites),
    NoiseScreen: narrow(NoiseScreen, _noise),
    CallbacksScreen: narrow(CallbacksScreen, _callbacks)}
