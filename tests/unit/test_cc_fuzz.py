"""Whatever arrives on the contact-center link, the codec returns a message or raises
DecodeError with a known code: nothing else, ever (anything else would take the link down, or,
in the server, the agent's session)."""
import json
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.cc import protocol as p

MAX = p.MAX_MESSAGE_BYTES
DECODERS = {p.decode_server: get_args(p.ServerMessage), p.decode_client: get_args(p.ClientMessage)}
TAGS = [t.__struct_config__.tag for d in DECODERS.values() for t in d]
FIELDS = sorted({f for d in DECODERS.values() for t in d for f in t.__struct_fields__}
                | {"agent", "contact", "status", "code", "label", "name", "secure", "rona_s"})

FUZZ = settings(max_examples=200, deadline=None)

# Every code point, lone surrogates too: a str frame is the decoder's input however it was made.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
json_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70,
                max_value=2**70) | st.floats() | any_text | st.sampled_from(FIELDS + TAGS))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(any_text | st.sampled_from(FIELDS), inner, max_size=5),
    max_leaves=30)
# Objects that look like messages: a real type and real field names with any values.
near_messages = st.builds(
    lambda tag, fields: {"type": tag, **fields},
    st.sampled_from(TAGS), st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
valid_messages = st.from_type(p.Message)


def decodes_or_refuses(frame):
    """The property: for both directions, a message of that direction or a DecodeError."""
    for decode, types in DECODERS.items():
        try:
            message = decode(frame)
        except p.DecodeError as e:
            assert e.code in p.ERROR_CODES
        else:
            assert isinstance(message, types)


def as_frames(text: str):
    """A frame as the server gets it from the WebSocket (str) and as raw bytes."""
    yield text
    yield text.encode("utf-8", "surrogatepass")


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(frame):
    decodes_or_refuses(frame)


@FUZZ
@given(st.text(st.characters(exclude_categories=()), max_size=2048))
def test_random_text(frame):
    decodes_or_refuses(frame)


@FUZZ
@given(json_values | near_messages)
def test_random_json(value):
    for frame in as_frames(json.dumps(value, ensure_ascii=False)):
        decodes_or_refuses(frame)


def paths(value, here=()):
    """Every place in a JSON value, as the keys/indexes leading to it."""
    yield here
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from paths(child, here + (key,))


@FUZZ
@given(valid_messages, st.data())
def test_mutated_messages(message, data):
    """A real message with fields deleted, retyped, or given strange values (several times)."""
    value = json.loads(p.encode(message))
    for _ in range(data.draw(st.integers(1, 4))):
        places = [where for where in paths(value) if where]
        if not places:
            break
        where = data.draw(st.sampled_from(places))
        parent = value
        for key in where[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(json_values)
    for frame in as_frames(json.dumps(value, ensure_ascii=False)):
        decodes_or_refuses(frame)


@settings(max_examples=60, deadline=None)
@given(valid_messages)
def test_truncated_at_every_length(message):
    """A prefix of a message is never a message, whether cut between characters or inside one."""
    text = p.encode(message)
    data = text.encode("utf-8", "surrogatepass")
    for frame in [text[:n] for n in range(len(text))] + [data[:n] for n in range(len(data))]:
        for decode in DECODERS:
            try:
                decode(frame)
            except p.DecodeError as e:
                assert e.code == "bad_message", (frame, e)
            else:
                raise AssertionError(f"a truncated frame was read: {frame!r}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 * MAX) | st.integers(MAX - 8, MAX + 8),
       st.sampled_from(["x", "é", "€", "😀", "\\", '"', "\x00"]), st.booleans())
def test_huge_strings(length, char, as_bytes):
    """A string field up to twice the limit: read whole under the limit, too_large over it."""
    text = char * (length // len(char.encode()))
    frame = p.encode(p.Notice(seq=7, text=text))
    size = len(frame.encode())
    try:
        message = p.decode_server(frame.encode() if as_bytes else frame)
    except p.DecodeError as e:
        assert e.code == "too_large" and size > MAX, (size, e)
    else:
        assert size <= MAX and message == p.Notice(seq=7, text=text)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300_000), st.sampled_from(["[", '{"a":']), st.booleans())
def test_deep_nesting(depth, opener, closed):
    """Nesting in a field the phone does not know (it skips those), closed or cut off."""
    closer = "]" if opener == "[" else "}"
    value = opener * depth + ("0" + closer * depth if closed else "")
    decodes_or_refuses('{"type":"notice","seq":1,"text":"hi","extra":' + value + "}")


@FUZZ
@given(valid_messages, st.lists(st.tuples(st.integers(0), st.integers(0, 255)), min_size=1,
                                max_size=6))
def test_byte_flips(message, flips):
    """Bytes of a real message overwritten: broken UTF-8 inside strings, stray quotes, ..."""
    frame = bytearray(p.encode(message).encode("utf-8", "surrogatepass"))
    for at, byte in flips:
        frame[at % len(frame)] = byte
    decodes_or_refuses(bytes(frame))
