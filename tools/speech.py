"""Speech for the audio tests and benches: espeak-ng says a sentence, sox makes it the
phone's format (mono S16_LE at the board's rate, no header). Both are Debian packages
(tools/setup/system-packages.sh). Results are cached per process: espeak takes ~0.3 s."""
from __future__ import annotations

import functools
import subprocess

# A customer and an agent: different voices, pitches and words, so their echoes and
# spectra don't line up by accident
CUSTOMER = ("en-us", "Hello, I am calling about my order from last week. The parcel never "
            "arrived and the tracking page has said out for delivery for five days now. "
            "Could you please check where it is, and whether you can send another one?")
AGENT = ("en+f3", "Thank you for calling. I am sorry to hear that. Let me look up your "
         "order right away. Could you give me the order number, or the phone number you "
         "used when you placed it, please?")


@functools.cache
def say(voice: str, text: str, rate: int, wpm: int = 160) -> bytes:
    """``text`` spoken by espeak-ng's ``voice``, as mono S16_LE at ``rate`` Hz, normalised
    to -3 dBFS peak."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text],
                         check=True, capture_output=True).stdout
    return subprocess.run(["sox", "-t", "wav", "-", "-r", str(rate), "-b", "16", "-c", "1",
                           "-e", "signed-integer", "-t", "raw", "-", "norm", "-3"],
                          input=wav, check=True, capture_output=True).stdout


def customer(rate: int) -> bytes:
    return say(*CUSTOMER, rate)


def agent(rate: int) -> bytes:
    return say(*AGENT, rate)
