"""Which codec a call uses, read from the far end's SDP (firmware/sip/codec.py), and the codecs
a phone offers at its board's audio rate (firmware/sip/config.py)."""
import logging

from firmware.sip.codec import CodecWatch, codec_names, sent_codec, split_message
from firmware.sip.config import audio_codecs, audio_format_text

OURS = codec_names(audio_codecs(16000))

ANSWER = """SIP/2.0 200 OK\r
Call-ID: abc123\r
CSeq: 1 INVITE\r
X-CC-Token: secret-token\r
Content-Type: application/sdp\r
\r
v=0\r
c=IN IP4 127.0.0.1\r
m=audio 4000 RTP/SAVP 9 0 101\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEYKEYKEY\r
"""


def test_a_wideband_phone_offers_g722_then_opus_then_g711_and_a_narrowband_one_g711_only():
    assert audio_codecs(16000) == ("g722/16000/1", "opus/48000/2", "pcmu", "pcma")
    assert audio_codecs(8000) == ("pcmu", "pcma")
    assert "ausrc_srate 16000\nauplay_srate 16000\n" in audio_format_text(16000)
    assert "ausrc_srate 8000\n" in audio_format_text(8000)


def test_the_codec_is_the_first_of_the_far_ends_list_the_phone_has_too():
    assert sent_codec("m=audio 4000 RTP/AVP 9 0\r\n", OURS) == "g722/16000"   # static types
    assert sent_codec("m=audio 4000 RTP/AVP 0 9\n", OURS) == "pcmu/8000"
    assert sent_codec("m=audio 4000 RTP/AVP 96 0\na=rtpmap:96 opus/48000/2\n",
                      OURS) == "opus/48000"
    # a narrowband phone has no G.722: the PCMA further down is it
    assert sent_codec("m=audio 4000 RTP/AVP 9 8\n", codec_names(audio_codecs(8000))) \
        == "pcma/8000"
    assert sent_codec("m=audio 0 RTP/AVP 0\n", OURS) is None          # refused stream
    assert sent_codec("m=audio 4000 RTP/AVP 18\na=rtpmap:18 G729/8000\n", OURS) is None
    assert sent_codec("v=0\n", OURS) is None


def test_a_received_answer_gives_its_calls_codec_and_nothing_reaches_the_log(caplog):
    watch = CodecWatch(audio_codecs(16000))
    watch.attach()
    try:
        with caplog.at_level(logging.DEBUG):
            log = logging.getLogger(CodecWatch.LOGGER)
            log.debug("%s", "TX UDP a -> b\nINVITE sip:x SIP/2.0\nCall-ID: abc123\n"
                            "Content-Type: application/sdp\n\nm=audio 1 RTP/AVP 0\n")
            assert watch.codec("abc123") == ""          # our own offer says nothing
            log.debug("%s", "RX TLS b -> a\n" + ANSWER)
            log.debug("%s", "RX UDP b -> a\nnot a SIP message at all")
        assert watch.codec("abc123") == "g722/16000"
        assert not any("secret-token" in r.getMessage() or "KEYKEY" in r.getMessage()
                       for r in caplog.records)
        watch.forget("abc123")
        assert watch.codec("abc123") == ""
    finally:
        watch.detach()


def test_a_trace_record_splits_into_direction_call_id_and_body():
    received, call_id, sdp = split_message("RX UDP x -> y\n" + ANSWER)
    assert received and call_id == "abc123" and sdp.startswith("v=0")
    assert split_message("RX UDP x -> y\nSIP/2.0 180 Ringing\ni: zz\n\n")[1:] == ("zz", "")
