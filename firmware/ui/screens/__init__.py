"""One body function per screen: (model, screen) -> the rows above the softkeys."""
from firmware.core.model import (AboutScreen, AdjustScreen, BootScreen, CallScreen, ChoiceScreen,
                                 ConnectingPopover, IdleScreen, LoginScreen, MenuScreen,
                                 OfferPopover, ReasonScreen, RonaPopover, VarsScreen)

from . import contact, home, lists, settings

BODIES = {
    BootScreen: home.boot, IdleScreen: home.home, AboutScreen: settings.about,
    MenuScreen: settings.menu, AdjustScreen: settings.adjust, ChoiceScreen: settings.choice,
    LoginScreen: lists.login, ReasonScreen: lists.reasons,
    ConnectingPopover: contact.connecting, OfferPopover: contact.offer, RonaPopover: contact.rona,
    CallScreen: contact.call, VarsScreen: contact.variables,
}
