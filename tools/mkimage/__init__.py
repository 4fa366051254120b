"""mkimage: signed firmware images for the phone (MCUboot format, ED25519; full or delta).

    python -m tools.mkimage build [--out IMG] [--version V] [--board B ...] [--key K]
                                  [--delta-from OLD.img] [--tree DIR]
                                  [--security-counter N|auto]
    python -m tools.mkimage keygen [--key K] [--force]
    python -m tools.mkimage show IMG [--key K]
    python -m tools.mkimage provision --root ROOT --image IMG --slot a|b [--board B] [--key K]

The functions are in ``tools.mkimage.build``; the phone side is ``firmware.update``: ``image``
(the format), ``manifest``, ``verify`` and ``install``.
"""
