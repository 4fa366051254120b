"""The phone's SIP adapter over baresip-python: stack events in, core events out.

``firmware.sip.stack.SipStack`` is the one entry point; it is imported from there so that
baresip's native library loads only on phones configured for SIP.
"""
