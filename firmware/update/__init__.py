"""Firmware updates on the phone: signed MCUboot-format images, A/B slots, the SMP server.

- ``image``: parse and verify a signed image, build a slot's tree from it (full or delta).
- the rest (slots, launcher, SMP server, uploads): see docs/update.md.
"""
