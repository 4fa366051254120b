"""update(model, event) -> (model, effects): every rule of the phone, as a pure function.
The agent's rules live in agent, offers, calls and reasons; this module routes events and keys
and holds the device and settings rules."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar, assert_never

from . import (agent, calldata, callbacks, callreport, calls, campaigns, conference, consult,
               dialpad, directory, emergency, favorites, followups, forms, helprequest, logsend,
               forwarding, messages, notes, offers, reasons, recording, reservation, tasks,
               voiceapps, voicemail)
from . import events as ev
from .dispatch import narrow, rule_for
from .effects import Effects, PlayTone, SaveSettings, Step, StopTone
from .menus import (ADJUSTABLE, CHOICES, MENUS, About, Adjust, CallbackList, Campaigns, Choose,
                    Directory, Favorites, FollowUp, GoState, HeadsetMode, Help, History, Messages,
                    NewCallback, Noise, Note, OpenMenu, PickReason, RecordData, ReportCall,
                    Reschedule, Script, SendLogs, Target, Tasks, VoiceApps, Voicemail)
from .menus import Forwarding as ForwardingItem
from .model import (CALL_ROUTES, AboutScreen, AdjustScreen, BootScreen, CallbacksScreen,
                    CallDataScreen, CallScreen, CampaignsScreen, ChoiceScreen, ConnectingPopover,
                    DialScreen, DirectoryScreen, FavoritesScreen, FollowUpScreen, FormScreen,
                    HistoryScreen,
                    IdleScreen, LoginScreen, MenuScreen, Model, NoiseScreen, OfferPopover,
                    PeopleScreen, PreviewPopover, ReasonScreen, RonaPopover, Screen, ScriptScreen,
                    TaskScreen, VarsScreen, with_notice)
from .navigation import POPOVERS, arrange, close, pop, push, replace_top
from .softkeys import action_for
from .vocab import Action, Level, StorageProblem

E = TypeVar("E", bound=ev.Event)

INC: frozenset[Action] = frozenset({"inc", "up", "right", "volup"})
DEC: frozenset[Action] = frozenset({"dec", "down", "left", "voldown"})


def update(m: Model, event: ev.Event) -> Step:
    """The new model and what to do. An event kind without a rule is a LookupError (the phone
    logs it and goes on; tests fail). Whatever the event, no offer stands over an emergency
    call."""
    m, effects = rule_for(_EVENTS, type(event))(m, event)
    m, declined = emergency.turn_down_offers(m)
    return arrange(m), tuple(effects) + declined


def _booted(m: Model, _e: ev.Booted) -> Step:
    return replace(m, screens=(IdleScreen(),) + m.screens[1:], last_touch=m.now), ()


def _tick(m: Model, e: ev.Tick) -> Step:
    notice = m.notice if m.notice and m.notice.until > e.now else None
    return directory.tick(forms.tick(calldata.tick(replace(m, now=e.now, notice=notice))))


def _network(m: Model, e: ev.NetworkChanged) -> Step:
    return replace(m, links=replace(m.links, ip=e.ip)), ()


def _hook(m: Model, e: ev.Hook) -> Step:
    m = replace(m, hook_lifted=e.lifted, last_touch=m.now)
    if e.lifted:                     # the handset takes the call's audio over
        m = replace(m, hands_free=None)
        if offers.can_pick_up(m):
            return offers.pick_up(m)
        if isinstance(m.screen, (DirectoryScreen, FavoritesScreen)):    # calls the one in view
            step = rule_for(_HANDLERS, type(m.screen))(m, m.screen, "ok")
            if len(step[0].calls) > len(m.calls):
                return step
        return dialpad.hook_lifted(m)
    m, effects = calls.hook_replaced(m)
    m, more = dialpad.hook_replaced(m)
    return m, effects + more


def _tone_finished(m: Model, e: ev.ToneFinished) -> Step:
    if e.tone == "auto_answer":
        return offers.auto_answer(m)
    return (replace(m, ringing_test=False), ()) if e.tone == "test_ring" else (m, ())


def _sip_registration(m: Model, e: ev.SipRegistration) -> Step:
    m = replace(m, links=replace(m.links, sip=e.state))
    if e.state == "failed":
        return replace(m, sip_problem=f"SIP: {e.detail or 'failed'}"), ()
    m = replace(m, sip_problem="")
    return (with_notice(m, f"SIP: {e.detail}") if e.detail else m), ()


STORAGE_PROBLEMS: dict[StorageProblem, str] = {"": "", "full": "Storage full",
                                               "failed": "Storage failing"}


def _storage_status(m: Model, e: ev.StorageStatus) -> Step:
    return replace(m, storage_problem=STORAGE_PROBLEMS.get(e.problem, "")), ()


def _clock_sync(m: Model, e: ev.ClockSync) -> Step:
    return replace(m, waiting_for_time=not e.synchronized), ()


def _settings_not_saved(m: Model, e: ev.SettingsNotSaved) -> Step:
    """Said on whatever screen the agent is on: the change holds only until a restart."""
    why = "storage full" if e.full else "storage failing"
    return with_notice(m, f"Settings not saved: {why}"), ()


def _login_from_config(m: Model, e: ev.LoginFromConfig) -> Step:
    return agent.log_in(m, e.agent, e.pin)


def _refused(m: Model, e: ev.CcRefused) -> Step:
    if e.request in ("consult", "transfer", "exit_consult"):
        return consult.refused(m, e)
    if e.request in ("conference", "exit_conference"):
        return conference.refused(m, e)
    if e.request in ("pause_recording", "resume_recording"):
        return recording.refused(m, e)
    if e.request in ("set_variable", "get_variable"):
        return calldata.refused(m, e)
    if e.request == "preview":
        return campaigns.refused(m, e)
    if e.request == "reschedule":
        return campaigns.reschedule_refused(m, e)
    if e.request in ("play_message", "connect_app"):
        return with_notice(m, e.message), ()
    if e.request in ("schedule_callback", "edit_callback", "delete_callback", "callbacks"):
        return callbacks.refused(m, e)
    if e.request in ("request_help", "cancel_help"):
        return helprequest.refused(m, e)
    if e.request == "quality_report":
        return callreport.refused(m, e)
    if e.request == "log_upload":
        return logsend.refused(m, e)
    if e.request in ("schedule_follow_up", "follow_up_done"):
        return followups.refused(m, e)
    if e.request == "set_forwarding":
        return forwarding.refused(m, e)
    return directory.refused(m, e)          # the rest: agent.refused


def _contact_event(m: Model, e: ev.CcContact) -> Step:
    m, fx = offers.contact_event(m, e)
    m, more = conference.joined(m, e)
    m, saved = calldata.contact_changed(m, e)
    m, dialed = campaigns.dialing(campaigns.rescheduled(m, e.contact), e.contact)
    m, calling = callbacks.dialing(m, e.contact)
    m, joined = reservation.connected(m, e.contact)
    m, released = reservation.forgotten(m, e.contact)
    return m, fx + more + saved + dialed + calling + joined + released


def _cc_notice(m: Model, e: ev.CcNotice) -> Step:
    return with_notice(m, e.text), ()


def _acked(m: Model, e: ev.CcAcked) -> Step:
    if e.request == "log_upload":
        return logsend.acked(m, e)
    return callreport.acked(m, e)


def _then_bind(rule: Callable[[Model, E], Step]) -> Callable[[Model, E], Step]:
    """A rule after which the contacts (or the time) may have changed: INVITEs that came
    before their contact are bound or refused."""
    def run(m: Model, e: E) -> Step:
        m, effects = rule(m, e)
        m, more = calls.settle_waiting(m)
        return m, tuple(effects) + more
    return run


def _key(m: Model, key: ev.Key) -> Step:
    if key.kind == "up":
        return m, ()
    m = replace(m, last_touch=m.now)
    if key.kind == "long":
        if key.name == "back" and len(m.screens) > 1:
            return _leave_all(m)
        if key.name == "0" and isinstance(m.screen, DialScreen):
            return dialpad.plus(m, m.screen)
        return m, ()
    # keys that act wherever the agent is: answering and hold
    if key.name in ("speaker", "headset") and not offers.can_pick_up(m):
        if isinstance(m.screen, DialScreen) and not m.screen.consult:
            return dialpad.hands_free(m, m.screen, key.name)
        if isinstance(m.screen, IdleScreen) and not m.calls:    # off-hook on the speaker
            m, effects = dialpad.open_dial(replace(m, hands_free=key.name))
            return m, effects
    if key.name in ("speaker", "headset") and offers.can_pick_up(m):
        return offers.pick_up(replace(m, hands_free=key.name))
    if key.name in ("speaker", "headset") and calls.audio_route(m):
        return calls.hands_free_key(m, key.name)
    if key.name == "hold" and calls.shown_call(m):
        return calls.toggle_hold(m)
    if key.name == "mute" and calls.audio_route(m):
        return calls.toggle_mute(m)
    if key.name in ("volup", "voldown") and calls.audio_route(m) \
            and not isinstance(m.screen, AdjustScreen):     # the menu's own adjusting wins
        return calls.call_volume(m, key.name)
    if key.name == "redial" and not any(c.state in ("talking", "calling") for c in m.calls):
        return dialpad.redial(m)
    screen = m.screen
    if key.name in dialpad.DIAL_KEYS and isinstance(screen, POPOVERS):
        # a popover has no use for digits: they open the dial pad (an emergency can't wait
        # for an offer to be answered or missed)
        return dialpad.open_dial(m, key.name)
    action = action_for(m, screen, key.name)
    if action is None:                      # a softkey with nothing on it here
        return m, ()
    return rule_for(_HANDLERS, type(screen))(m, screen, action)


_EVENTS: dict[type[ev.Event], Callable[[Model, object], Step]] = {
    ev.Booted: narrow(ev.Booted, _booted),
    ev.Tick: narrow(ev.Tick, _then_bind(_tick)),
    ev.NetworkChanged: narrow(ev.NetworkChanged, _network),
    ev.Hook: narrow(ev.Hook, _hook),
    ev.ToneFinished: narrow(ev.ToneFinished, _tone_finished),
    ev.StorageStatus: narrow(ev.StorageStatus, _storage_status),
    ev.SettingsNotSaved: narrow(ev.SettingsNotSaved, _settings_not_saved),
    ev.ClockSync: narrow(ev.ClockSync, _clock_sync),
    ev.Key: narrow(ev.Key, _key),
    ev.LoginFromConfig: narrow(ev.LoginFromConfig, _login_from_config),
    ev.CcLink: narrow(ev.CcLink, agent.link),
    ev.CcSnapshot: narrow(ev.CcSnapshot, _then_bind(agent.snapshot)),
    ev.CcAgentState: narrow(ev.CcAgentState, agent.agent_state),
    ev.CcContact: narrow(ev.CcContact, _then_bind(_contact_event)),
    ev.CcNotice: narrow(ev.CcNotice, _cc_notice),
    ev.CcCampaign: narrow(ev.CcCampaign, campaigns.changed),
    ev.CcLoggedOut: narrow(ev.CcLoggedOut, agent.logged_out),
    ev.CcRefused: narrow(ev.CcRefused, _refused),
    ev.CcDirectory: narrow(ev.CcDirectory, directory.answered),
    ev.CcVariable: narrow(ev.CcVariable, calldata.revealed),
    ev.CcCallbackSaved: narrow(ev.CcCallbackSaved, callbacks.saved),
    ev.CcCallbacks: narrow(ev.CcCallbacks, callbacks.listed),
    ev.CcFavorites: narrow(ev.CcFavorites, favorites.changed),
    ev.CcTakenOver: narrow(ev.CcTakenOver, agent.taken_over),
    ev.CcHelp: narrow(ev.CcHelp, helprequest.changed),
    ev.CcAcked: narrow(ev.CcAcked, _acked),
    ev.CallMeasured: narrow(ev.CallMeasured, callreport.measured),
    ev.LogsCollected: narrow(ev.LogsCollected, logsend.collected),
    ev.CcFollowUp: narrow(ev.CcFollowUp, followups.due),
    ev.CcAppResult: narrow(ev.CcAppResult, voiceapps.ended),
    ev.CcForwarding: narrow(ev.CcForwarding, forwarding.changed),
    ev.CcVoicemail: narrow(ev.CcVoicemail, voicemail.changed),
    ev.SipRegistration: narrow(ev.SipRegistration, _sip_registration),
    ev.SipIncoming: narrow(ev.SipIncoming, calls.incoming),
    ev.SipCallState: narrow(ev.SipCallState, calls.call_state),
    ev.SipDialed: narrow(ev.SipDialed, dialpad.dialed),
    ev.CcDialAnswer: narrow(ev.CcDialAnswer, dialpad.go_ahead),
}


# -- per screen ----------------------------------------------------------------------------------
def _idle(m: Model, _s: IdleScreen, action: Action) -> Step:
    if action in dialpad.DIAL_KEYS:
        return dialpad.open_dial(m, action)
    if action in ("menu", "ok"):
        return push(m, MenuScreen("main")), ()
    if action == "login" and m.agent is None:
        return push(m, LoginScreen()), ()
    if action == "state" and m.agent is not None:
        return push(m, MenuScreen("state")), ()
    if action == "logout" and m.agent is not None:
        return agent.open_logout(m)
    if action == "about":
        return push(m, AboutScreen()), ()
    if action in ("volup", "voldown"):
        # Volume keys at idle set the ringer, as on any desk phone.
        before = m.settings.ringer_volume
        screen = AdjustScreen("ringer_volume", before, before)
        return _adjust(push(m, screen), screen, action)
    return m, ()


def _menu(m: Model, screen: MenuScreen, action: Action) -> Step:
    _title, items = MENUS[screen.menu]
    if action == "back":
        return pop(m), ()
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return replace_top(m, replace(screen, cursor=(screen.cursor + step) % len(items))), ()
    if action.isdigit() and 1 <= int(action) <= len(items):
        screen = replace(screen, cursor=int(action) - 1)
        m = replace_top(m, screen)
        action = "ok"
    if action in ("ok", "right"):
        return _open(m, items[screen.cursor].opens)
    return m, ()


def _open(m: Model, target: Target) -> Step:
    match target:
        case OpenMenu(menu):
            return push(m, MenuScreen(menu)), ()
        case Adjust(setting):
            value = m.settings.level(setting)
            return push(m, AdjustScreen(setting, value, value)), ()
        case Choose(setting):
            values = [v for v, _label in CHOICES[setting][1]]
            return push(m, ChoiceScreen(setting, values.index(m.settings.mode(setting)))), ()
        case Noise():
            return push(m, NoiseScreen()), ()
        case HeadsetMode():
            settings = replace(m.settings, headset_mode=not m.settings.headset_mode)
            m = with_notice(replace(m, settings=settings),
                            "Headset mode on" if settings.headset_mode else "Headset mode off")
            return m, (SaveSettings(settings),)
        case About():
            return push(m, AboutScreen()), ()
        case GoState(state):
            return agent.set_state(m, state)
        case PickReason("logout"):
            return agent.open_logout(m)
        case PickReason(kind):
            return push(m, ReasonScreen(kind)), ()
        case History():
            return push(m, HistoryScreen()), ()
        case Directory():
            return directory.open_directory(m)
        case Favorites():
            return favorites.open_favorites(m)
        case Tasks():
            return push(m, TaskScreen()), ()
        case Campaigns():
            return push(m, CampaignsScreen()), ()
        case Script():
            return campaigns.open_script(m)
        case Reschedule():
            return campaigns.open_reschedule(m)
        case RecordData():
            record = campaigns.record_in_view(m)
            if record is None:
                return with_notice(m, campaigns.NOT_A_RECORD), ()
            return calldata.open_call_data(m, record.id)
        case NewCallback():
            return callbacks.open_new(m)
        case CallbackList():
            return callbacks.open_for_customer(m)
        case Note():
            return notes.open_note(m)
        case Help():
            return helprequest.toggle(m)
        case ReportCall():
            return callreport.open_report(m)
        case SendLogs():
            return logsend.start(m)
        case Messages():
            return messages.open_messages(m)
        case FollowUp():
            return followups.open_follow_up(m)
        case VoiceApps():
            return voiceapps.open_apps(m)
        case Voicemail():
            return voicemail.call_box(m)
        case ForwardingItem():
            return forwarding.open_forwarding(m)
    assert_never(target)


def _adjust(m: Model, screen: AdjustScreen, action: Action) -> Step:
    _title, highest = ADJUSTABLE[screen.setting]
    if action in INC or action in DEC:
        value = max(0, min(highest, screen.value + (1 if action in INC else -1)))
        m = replace_top(m, replace(screen, value=value))
        m = _set(m, screen.setting, value)
        if screen.setting == "ringer_volume":
            return replace(m, ringing_test=True), (PlayTone("test_ring", "ringer", value),)
        return m, ()
    if action == "ok":
        return pop(m), (SaveSettings(m.settings),) + _stop_test_ring(m)
    if action == "back":
        return pop(_set(m, screen.setting, screen.before)), _stop_test_ring(m)
    return m, ()


def _choice(m: Model, screen: ChoiceScreen, action: Action) -> Step:
    _title, options = CHOICES[screen.setting]
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return replace_top(m, replace(screen, cursor=(screen.cursor + step) % len(options))), ()
    if action.isdigit() and 1 <= int(action) <= len(options):
        screen = replace(screen, cursor=int(action) - 1)
        action = "ok"
    if action == "ok":
        settings = m.settings.with_mode(screen.setting, options[screen.cursor][0])
        m = pop(replace(m, settings=settings))
        return m, (SaveSettings(m.settings),)
    if action == "back":
        return pop(m), ()
    return m, ()


def _noise(m: Model, screen: NoiseScreen, action: Action) -> Step:
    """Up/down pick a route; `ok` (or its digit) turns its noise removal on or off, kept at once
    as a choice is: there is nothing to undo."""
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return replace_top(m, replace(screen, cursor=(screen.cursor + step) % len(CALL_ROUTES))), ()
    if action.isdigit() and 1 <= int(action) <= len(CALL_ROUTES):
        screen = replace(screen, cursor=int(action) - 1)
        m = replace_top(m, screen)
        action = "ok"
    if action == "ok":
        route = CALL_ROUTES[screen.cursor]
        settings = m.settings.with_noise_removal(route, not m.settings.noise_removal(route))
        return replace(m, settings=settings), (SaveSettings(settings),)
    if action == "back":
        return pop(m), ()
    return m, ()


def _about(m: Model, _s: AboutScreen, action: Action) -> Step:
    if action in ("back", "ok"):
        return pop(m), ()
    return m, ()


def _dial_screen(m: Model, s: DialScreen, action: Action) -> Step:
    """The dial screen's keys (dialpad), and its way to the directory and the favorites (with
    the number typed, which `Add` there makes a favorite)."""
    if s.consult:                   # picking a consult or transfer target
        step = consult.dial_key(m, s, action)
        if step is not None:
            return step
    if action == "directory":
        return directory.open_directory(m)
    if action == "favorites":
        return favorites.open_favorites(m, s.number)
    return dialpad.dial_key(m, s, action)


def _history_screen(m: Model, s: HistoryScreen, action: Action) -> Step:
    """The call history's keys (dialpad), and `Fav+` for the call in view."""
    if action == "fav_add":
        return favorites.add_from_history(m, s)
    return dialpad.history_key(m, s, action)


def _directory_screen(m: Model, s: DirectoryScreen, action: Action) -> Step:
    step = consult.directory_key(m, s, action) if s.consult else None
    return step if step is not None else directory.directory_key(m, s, action)


def _call_screen(m: Model, s: CallScreen, action: Action) -> Step:
    if action == "record":               # a campaign's record: script, reschedule, fields
        return push(m, MenuScreen("record")), ()
    if action == "more":                 # any other contact's: next state, callbacks
        return push(m, MenuScreen("call")), ()
    if action == "message":              # a machine answered: the campaign's message on it
        call = m.call(s.call)
        return campaigns.leave_message(m, m.contact(call.contact) if call else None)
    step = consult.call_key(m, s, action)
    return step if step is not None else calls.call_key(m, s, action)


def _reason_screen(m: Model, s: ReasonScreen, action: Action) -> Step:
    if action == "record" and s.kind == "wrapup":    # a campaign record's, before its disposition
        return push(m, MenuScreen("record")), ()
    if action == "more" and s.kind == "wrapup":      # any other's: a note, help, a report
        return push(m, MenuScreen("wrapup")), ()
    return reasons.reason_key(m, s, action)


def _no_keys(m: Model, _s: Screen, _action: Action) -> Step:
    """The phone is starting, or a contact is on its way: keys wait for the next screen."""
    return m, ()


_HANDLERS: dict[type[Screen], Callable[[Model, object, Action], Step]] = {
    BootScreen: narrow(BootScreen, _no_keys),
    ConnectingPopover: narrow(ConnectingPopover, _no_keys),
    IdleScreen: narrow(IdleScreen, _idle),
    MenuScreen: narrow(MenuScreen, _menu),
    AdjustScreen: narrow(AdjustScreen, _adjust),
    ChoiceScreen: narrow(ChoiceScreen, _choice),
    NoiseScreen: narrow(NoiseScreen, _noise),
    AboutScreen: narrow(AboutScreen, _about),
    LoginScreen: narrow(LoginScreen, agent.login_key),
    ReasonScreen: narrow(ReasonScreen, _reason_screen),
    OfferPopover: narrow(OfferPopover, offers.offer_key),
    PreviewPopover: narrow(PreviewPopover, campaigns.preview_key),
    CampaignsScreen: narrow(CampaignsScreen, campaigns.campaigns_key),
    CallbacksScreen: narrow(CallbacksScreen, callbacks.list_key),
    FollowUpScreen: narrow(FollowUpScreen, followups.follow_up_key),
    ScriptScreen: narrow(ScriptScreen, campaigns.script_key),
    RonaPopover: narrow(RonaPopover, offers.rona_key),
    CallScreen: narrow(CallScreen, _call_screen),
    DialScreen: narrow(DialScreen, _dial_screen),
    HistoryScreen: narrow(HistoryScreen, _history_screen),
    TaskScreen: narrow(TaskScreen, tasks.task_key),
    DirectoryScreen: narrow(DirectoryScreen, _directory_screen),
    FavoritesScreen: narrow(FavoritesScreen, favorites.favorites_key),
    VarsScreen: narrow(VarsScreen, offers.vars_key),
    PeopleScreen: narrow(PeopleScreen, conference.people_key),
    CallDataScreen: narrow(CallDataScreen, calldata.call_data_key),
    FormScreen: narrow(FormScreen, forms.form_key),
}


# -- helpers -------------------------------------------------------------------------------------
def _set(m: Model, setting: Level, value: int) -> Model:
    return replace(m, settings=m.settings.with_level(setting, value))


def _stop_test_ring(m: Model) -> Effects:
    return (StopTone("ringer"),) if m.ringing_test else ()


def _leave_all(m: Model) -> Step:
    """Long-press Back: abandon every screen the agent opened (unsaved settings are undone). What
    the phone put up for a contact or call (popovers, the call, an owed wrap-up) stays, and so
    does a form with typing in it: what the agent entered is never lost to one long press (Back
    on the form itself asks before discarding)."""
    effects = _stop_test_ring(m)
    for screen in reversed(m.screens[1:]):
        if isinstance(screen, AdjustScreen):
            m = _set(m, screen.setting, screen.before)
    m = close(m, lambda s: not (isinstance(s, POPOVERS + (CallScreen,))
                                or (isinstance(s, ReasonScreen) and s.kind == "wrapup")
                                or (isinstance(s, FormScreen) and s.form.changed())))
    return replace(m, ringing_test=False), effects
