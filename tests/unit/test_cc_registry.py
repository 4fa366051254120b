"""The contact-center registries check themselves: every server message the protocol defines
becomes the core events firmware/cc/client.py says it does, and every Cc* effect of the rules
becomes the protocol request it says. A message or effect added without its mapping fails here,
not as a "no way to carry out" line in a phone's log."""
from __future__ import annotations

import dataclasses
import enum
import json
import typing
from typing import Any, get_args

import msgspec
import pytest

from firmware.cc import client as c
from firmware.cc import protocol as p
from firmware.core import effects as fx

AGENT = p.Agent(id="1001", name="Ana Diaz", team="Blue", extension="sip:1001@127.0.0.1:5062")
SNAPSHOT_SEQ = 5


def _value(t: msgspec.inspect.Type) -> Any:
    """A valid value of a msgspec field type: the first literal, an empty list, ..."""
    match t:
        case msgspec.inspect.StrType():
            return "x"
        case msgspec.inspect.IntType():
            return 1
        case msgspec.inspect.FloatType():
            return 1.0
        case msgspec.inspect.BoolType():
            return False
        case msgspec.inspect.LiteralType():
            return t.values[0]
        case msgspec.inspect.StructType():
            return _sample_struct(t.cls)
        case msgspec.inspect.ListType():
            return []
        case msgspec.inspect.DictType():
            return {}
        case msgspec.inspect.UnionType():
            return None if t.includes_none else _value(t.types[0])
    raise AssertionError(f"no sample for {t}")


def _sample_struct(cls: type[msgspec.Struct], **given: Any) -> Any:
    """An instance of ``cls`` with every required field filled in."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = {f.name: _value(f.type) for f in info.fields if f.required}
    return cls(**{**fields, **given})


def _sample_effect(cls: type) -> Any:
    """An instance of a Cc* effect dataclass, each field a value of its annotated type."""
    hints = typing.get_type_hints(cls)

    def value(t: Any) -> Any:
        if type(None) in get_args(t):          # optional: a value of what it is when given
            return value(next(a for a in get_args(t) if a is not type(None)))
        if typing.get_origin(t) is typing.Literal:
            return get_args(t)[0]
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return next(iter(t))
        if dataclasses.is_dataclass(t):         # a nested value (a callback's draft)
            return t(**{f.name: value(typing.get_type_hints(t)[f.name])
                        for f in dataclasses.fields(t)})
        return {str: "1", float: 1.0, int: 1, bool: False}[t]
    return cls(**{f.name: value(hints[f.name]) for f in dataclasses.fields(cls)})


SET_STATE = fx.CcSetState("available")


def _online(in_flight: fx.CcEffect = SET_STATE) -> tuple[c.CcClient, str]:
    """A client logged in and synced, with a request in flight (a set_state unless said):
    (client, its request id)."""
    client = c.CcClient()
    client.request(fx.CcLogin("1001", "1234"))
    client.connection_made()
    client.receive(p.encode(p.Snapshot(seq=SNAPSHOT_SEQ, agent=AGENT, state="idle",
                                       session="S1")))
    _, frames = client.request(in_flight)
    return client, json.loads(frames[0])["id"]


def _cc_effects() -> set[type]:
    return {cls for name, cls in vars(fx).items()
            if name.startswith("Cc") and dataclasses.is_dataclass(cls)}


# -- server -> phone ---------------------------------------------------------------------------
def test_every_server_message_has_a_mapping():
    missing = set(get_args(p.ServerMessage)) - set(c.EVENTS)
    assert not missing, f"server messages with no mapping in client.EVENTS: {missing}"
    assert set(c.EVENTS) == set(get_args(p.ServerMessage))


# the server messages that answer one kind of request: that request is the one in flight
# the request in flight that each answer settles (an ack makes an event only for a log part
# and a quality report, which the phone follows)
ANSWERS: dict[type, fx.CcEffect] = {p.DialAnswer: fx.CcDial("dial-1", "5550100"),
                                    p.Ack: fx.CcLogUpload("log-1", 1, 2, "a line")}


@pytest.mark.parametrize("kind", get_args(p.ServerMessage), ids=lambda k: k.__name__)
def test_each_server_message_becomes_the_core_events_the_registry_says(kind):
    client, request_id = _online(*((ANSWERS[kind],) if kind in ANSWERS else ()))
    given: dict[str, Any] = {}
    fields = {f.name for f in msgspec.structs.fields(kind)}
    if "seq" in fields:
        given["seq"] = SNAPSHOT_SEQ + 1        # the next event, not a repeat nor a gap
    if "id" in fields:
        given["id"] = request_id               # the answer to the request in flight
    if kind is p.Snapshot:
        given["agent"] = AGENT
    message = _sample_struct(kind, **given)

    events, _ = client.receive(p.encode(message))

    made = {type(e) for e in events}
    assert made <= set(c.EVENTS[kind]), f"{kind.__name__} made {made}, not {c.EVENTS[kind]}"
    assert bool(events) == bool(c.EVENTS[kind]), f"{kind.__name__} made {events}"


# -- phone -> server ---------------------------------------------------------------------------
def test_every_cc_effect_of_the_rules_has_a_request():
    missing = _cc_effects() - set(c.REQUESTS)
    assert not missing, f"Cc* effects with no request in client.REQUESTS: {missing}"
    assert set(c.REQUESTS) == _cc_effects() == set(get_args(fx.CcEffect))


def test_every_request_but_resync_comes_from_an_effect():
    """Resync is the client's own (it saw a seq gap); every other request is the agent's."""
    assert set(get_args(p.ClientMessage)) - set(c.REQUESTS.values()) == {p.Resync}


@pytest.mark.parametrize("kind", sorted(_cc_effects(), key=lambda k: k.__name__),
                         ids=lambda k: k.__name__)
def test_each_cc_effect_becomes_the_request_the_registry_says(kind):
    client, _ = _online()

    events, frames = client.request(_sample_effect(kind))

    assert events == [] and len(frames) == 1, (events, frames)
    assert json.loads(frames[0])["type"] == c.REQUESTS[kind].__struct_config__.tag
