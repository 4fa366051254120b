"""python -m tools.mkimage {build,keygen,show,provision}: see tools/mkimage/__init__.py."""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from firmware.update.image import ImageError, auto_security_counter
from firmware.update.install import install_image
from firmware.update.manifest import slot_version
from firmware.update.verify import inspect_image, verify_image

from .build import (DEFAULT_KEY, BuildError, build_image, keygen, load_public_pem, public_key_path,
                    tree_version)


def _default_public_key() -> Path:
    pub = public_key_path(DEFAULT_KEY)
    return pub if pub.exists() else DEFAULT_KEY


def cmd_build(args) -> int:
    key = Path(args.key) if args.key else DEFAULT_KEY
    if not key.exists():
        if args.key:
            raise BuildError(f"key {key} not found (python -m tools.mkimage keygen --key {key})")
        priv, pub = keygen(key)
        print(f"no signing key yet: generated {priv} (private, 0600) and {pub}")
    tree = Path(args.tree)
    version = args.version or tree_version(tree)
    # A delta is named for its base, beside the full image: flash.sh picks it by the phone's
    # running version (hardphone-1.1.0.img + hardphone-1.1.0-from-1.0.0.img).
    suffix = ""
    if args.delta_from:
        suffix = f"-from-{inspect_image(Path(args.delta_from)).info.version}"
    out = Path(args.out) if args.out else Path("out") / f"hardphone-{version}{suffix}.img"
    r = build_image(tree, out, key, version=version, boards=args.board or None,
                    delta_from=Path(args.delta_from) if args.delta_from else None,
                    security_counter=args.security_counter, log=print)
    base = f" for base {r.base_version}" if r.kind == "delta" else ""
    print(f"wrote {r.path}: {r.kind} image{base}, version {r.version}, security counter "
          f"{r.security_counter}, boards {', '.join(r.boards)}, {r.size:,} bytes, "
          f"{r.files_carried} of {r.files_total} files")
    print(f"hash {r.image_sha256.hex()}")
    return 0


def cmd_keygen(args) -> int:
    priv, pub = keygen(Path(args.key), force=args.force)
    print(f"wrote {priv} (private, mode 0600; keep it off phones and out of git)")
    print(f"wrote {pub} (public: the phone's [update] public_key)")
    return 0


def cmd_show(args) -> int:
    key = Path(args.key) if args.key else _default_public_key()
    pem = load_public_pem(key) if key.exists() else None
    insp = inspect_image(Path(args.image), pem, list_payload=True)
    info, m = insp.info, insp.info.manifest
    if info.kind == "delta":
        kind = f"delta for base {info.base_version} (manifest {info.base_manifest_sha256[:16]})"
    else:
        kind = "full"
    deps = ", ".join(f"{k} {v}" for k, v in m["dependencies"].items()) or "none"
    tree_bytes = sum(e["size"] for e in m["files"].values())
    sig = insp.signature if pem is not None else "not checked (no key; pass --key)"
    print(f"image:      {args.image}")
    print(f"version:    {info.version}")
    print(f"counter:    {_counter_text(insp)}")
    print(f"kind:       {kind}")
    print(f"boards:     {', '.join(info.boards)}")
    print(f"size:       {info.size:,} bytes")
    print(f"files:      {len(m['files'])} in the tree ({tree_bytes:,} bytes), "
          f"{len(insp.payload_files)} in the payload")
    print(f"manifest:   sha256 {hashlib.sha256(insp.manifest_bytes).hexdigest()}")
    print(f"python:     {m['python']}")
    print(f"depends on: {deps}")
    print(f"hash:       {info.image_sha256.hex()}")
    print(f"signature:  {sig}" + (f" ({key})" if pem is not None else ""))
    return 0 if pem is None or insp.signature_ok else 1


def _counter_text(insp) -> str:
    """The security counter, and how it relates to the version's auto counter."""
    n, auto = insp.info.security_counter, auto_security_counter(insp.info.version)
    if not insp.has_security_counter:
        return "0 (no security counter TLV: phones that confirmed a counted image refuse it)"
    if n == auto:
        return f"{n} (security counter, auto from version {insp.info.version})"
    return (f"{n} (security counter, set explicitly; auto for {insp.info.version} would be "
            f"{auto})")


def cmd_provision(args) -> int:
    key = Path(args.key) if args.key else _default_public_key()
    pem = load_public_pem(key)
    image = Path(args.image)
    board = args.board
    if board is None:
        boards = inspect_image(image).info.boards
        if len(boards) != 1:
            raise BuildError(f"the image is for boards {', '.join(boards)}: pass --board")
        board = boards[0]
    info = verify_image(image, pem, board)
    if info.kind != "full":
        raise BuildError(f"provision takes a full image; this is a delta for base "
                         f"{info.base_version}")
    slot_dir = Path(args.root) / "slots" / args.slot
    before = slot_version(slot_dir)
    print(f"verified {image}: version {info.version}, board {board}, signature ok ({key})")
    install_image(image, info, slot_dir, None)
    tree = sum(e["size"] for e in info.manifest["files"].values())
    replaced = f", replacing {before}" if before else ""
    print(f"installed into {slot_dir}: {len(info.manifest['files'])} files, {tree:,} bytes, "
          f"every file checked against the signed manifest{replaced}")
    print("boot state (current, boot.json) not touched: that is firmware.update.slots' job")
    return 0


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m tools.mkimage",
                                description="signed firmware images for the phone")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a signed image (full, or --delta-from)")
    b.add_argument("--out", help="image file (default out/hardphone-VERSION.img, or "
                   "out/hardphone-VERSION-from-BASE.img for a delta)")
    b.add_argument("--version", help="default: firmware.version.__version__ of the tree")
    b.add_argument("--board", action="append", help="repeatable; default every board/*")
    b.add_argument("--key", help=f"ED25519 private key (default {DEFAULT_KEY}, "
                                 "generated on first use)")
    b.add_argument("--delta-from", help="a previous image: carry only new or changed files")
    b.add_argument("--tree", default=".", help="source tree (default .)")
    b.add_argument("--security-counter", default="auto", metavar="N|auto",
                   help="anti-rollback counter (default auto: from the version, as imgtool's "
                        "auto); phones refuse images below their counter. To go back to an "
                        "older version on purpose, give the phone's current counter")
    b.set_defaults(func=cmd_build)

    k = sub.add_parser("keygen", help="generate an ED25519 signing key pair")
    k.add_argument("--key", default=str(DEFAULT_KEY), help=f"default {DEFAULT_KEY}")
    k.add_argument("--force", action="store_true", help="replace an existing key")
    k.set_defaults(func=cmd_keygen)

    s = sub.add_parser("show", help="describe an image and check its signature")
    s.add_argument("image")
    s.add_argument("--key", help="public (or private) key; default the dev key")
    s.set_defaults(func=cmd_show)

    v = sub.add_parser("provision", help="factory install: verify an image into ROOT/slots/S")
    v.add_argument("--root", required=True, help="update root, e.g. /var/lib/hardphone/update")
    v.add_argument("--image", required=True)
    v.add_argument("--slot", required=True, choices=("a", "b"))
    v.add_argument("--board", help="this phone's board (default: the image's only board)")
    v.add_argument("--key", help="public (or private) key; default the dev key")
    v.set_defaults(func=cmd_provision)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return args.func(args)
    except (BuildError, ImageError) as e:
        print(f"mkimage {args.command}: error: {e}", file=sys.stderr)
    except OSError as e:
        print(f"mkimage {args.command}: error: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
