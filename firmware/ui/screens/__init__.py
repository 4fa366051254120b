"""One body function per screen: (model, screen) -> the rows above the softkeys."""
from collections.abc import Callable

from firmware.core.dispatch import narrow
from firmware.core.model import (AboutScreen, AdjustScreen, BootScreen, CallbacksScreen,
                                 CallDataScreen, CallScreen, CampaignsScreen, ChoiceScreen,
                                 ConnectingPopover, DialScreen, DirectoryScreen, FavoritesScreen,
                                 FollowUpScreen, FormScreen, HistoryScreen, IdleScreen, LoginScreen,
                                 MenuScreen, Model, NoiseScreen, OfferPopover, PeopleScreen,
                                 PreviewPopover, ReasonScreen, RonaPopover, Screen, ScriptScreen,
                                 TaskScreen, VarsScreen)

from . import contact, form, home, lists, phonebook, settings

BODIES: dict[type[Screen], Callable[[Model, object], list[str]]] = {
    BootScreen: narrow(BootScreen, home.boot), IdleScreen: narrow(IdleScreen, home.home),
    AboutScreen: narrow(AboutScreen, settings.about), MenuScreen: narrow(MenuScreen, settings.menu),
    AdjustScreen: narrow(AdjustScreen, settings.adjust),
    ChoiceScreen: narrow(ChoiceScreen, settings.choice),
    NoiseScreen: narrow(NoiseScreen, settings.noise),
    LoginScreen: narrow(LoginScreen, lists.login),
    ReasonScreen: narrow(ReasonScreen, lists.reasons),
    ConnectingPopover: narrow(ConnectingPopover, contact.connecting),
    OfferPopover: narrow(OfferPopover, contact.offer),
    PreviewPopover: narrow(PreviewPopover, contact.preview),
    CampaignsScreen: narrow(CampaignsScreen, contact.campaign_list),
    ScriptScreen: narrow(ScriptScreen, contact.script),
    RonaPopover: narrow(RonaPopover, contact.rona),
    CallScreen: narrow(CallScreen, contact.call), VarsScreen: narrow(VarsScreen, contact.variables),
    PeopleScreen: narrow(PeopleScreen, contact.people),
    CallDataScreen: narrow(CallDataScreen, contact.call_data),
    FormScreen: narrow(FormScreen, form.form), DialScreen: narrow(DialScreen, contact.dial),
    HistoryScreen: narrow(HistoryScreen, contact.history),
    TaskScreen: narrow(TaskScreen, contact.task_list),
    DirectoryScreen: narrow(DirectoryScreen, phonebook.directory),
    FavoritesScreen: narrow(FavoritesScreen, phonebook.favorites),
    CallbacksScreen: narrow(CallbacksScreen, contact.callback_list),
    FollowUpScreen: narrow(FollowUpScreen, contact.follow_up),
}
