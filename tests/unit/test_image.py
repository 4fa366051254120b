"""Firmware images: mkimage builds them, the phone verifies and installs them, and rejects
anything that is not exactly what a trusted key signed for this phone."""
from __future__ import annotations

import hashlib
import io
import lzma
import os
import struct
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

import pytest

from firmware.update.image import (HEADER, MANIFEST_NAME, ImageError, RollbackError,
                                   auto_security_counter, read_header)
from firmware.update.install import install_image
from firmware.update.manifest import manifest_sha256, slot_version, verify_slot
from firmware.update.verify import inspect_image, verify_image
from tools.mkimage import build as mk
from tools.mkimage.__main__ import main as mkimage_main

REPO = Path(__file__).resolve().parents[2]
PY = ">=3.11"
PYSERIAL = metadata.version("pyserial")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    good, good_pub = mk.keygen(d / "dev-ed25519.pem")
    other, other_pub = mk.keygen(d / "other.pem")
    return {"key": good, "pub": good_pub.read_bytes(), "other": other,
            "other_pub": other_pub.read_bytes()}


def make_tree(root: Path, files: dict) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


TREE_V1 = {
    "firmware/__init__.py": "",
    "firmware/version.py": '__version__ = "0.1.0"\n',
    "firmware/app/main.py": "print('hello')\n" * 50,
    "hal/sim/static/page.html": "<html>board</html>\n",
    "hal/blob.bin": bytes(range(256)) * 8,
    "board/sim/board.toml": '[board]\nname = "sim"\n',
    "board/rpi4/board.toml": '[board]\nname = "rpi4"\n',
    "firmware/run.sh": "#!/bin/sh\necho run\n",
    "pyproject.toml": '[project]\nrequires-python = ">=3.11"\ndependencies = ["pyserial>=3.5"]\n',
}


def build(tree, out, key, **kw):
    kw.setdefault("version", "0.2.0")
    kw.setdefault("boards", ["sim"])
    kw.setdefault("dependencies", {"pyserial": PYSERIAL})
    kw.setdefault("python", PY)
    return mk.build_image(tree, out, key, **kw)


def tree_files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def v1(tmp_path, keys):
    tree = make_tree(tmp_path / "src1", TREE_V1)
    (tree / "firmware/run.sh").chmod(0o755)
    img = tmp_path / "v1.img"
    build(tree, img, keys["key"], version="0.1.0")
    return tree, img


# -- round trip --------------------------------------------------------------------------------
def test_build_verify_install_round_trip(tmp_path, keys, v1):
    tree, img = v1
    info = verify_image(img, keys["pub"], "sim")
    assert (info.version, info.kind, info.boards) == ("0.1.0", "full", ("sim",))
    assert info.base_version is None and info.base_manifest_sha256 is None
    assert info.size == img.stat().st_size
    data = img.read_bytes()
    assert info.image_sha256 == hashlib.sha256(data[:len(data) - 144]).digest()
    assert set(info.manifest["files"]) == set(TREE_V1)
    assert info.manifest["dependencies"] == {"pyserial": PYSERIAL}

    slot = tmp_path / "root/slots/a"
    install_image(img, info, slot, None)
    got = tree_files(slot)
    manifest_bytes = got.pop(MANIFEST_NAME)
    assert got == tree_files(tree)
    assert manifest_bytes == inspect_image(img).manifest_bytes    # exactly the payload's bytes
    assert manifest_sha256(slot) == hashlib.sha256(manifest_bytes).hexdigest()
    assert slot_version(slot) == "0.1.0"
    assert os.stat(slot / "firmware/run.sh").st_mode & 0o777 == 0o755
    assert os.stat(slot / "firmware/app/main.py").st_mode & 0o777 == 0o644
    assert verify_slot(slot) == info.manifest
    assert sorted(p.name for p in slot.parent.iterdir()) == ["a"]     # no .new/.old left


def test_read_header(keys, v1):
    _tree, img = v1
    data = img.read_bytes()
    version, size = read_header(data[:64])
    assert version == "0.1.0" and size == len(data) - 144
    with pytest.raises(ImageError, match="bad magic"):
        read_header(b"\0" * 32)
    with pytest.raises(ImageError, match="not an MCUboot image"):
        read_header(data[:10])
    with pytest.raises(ImageError, match="image too large"):
        read_header(data[:32], max_size=100)


def test_build_is_deterministic(tmp_path, keys, v1):
    tree, img = v1
    os.utime(tree / "firmware/app/main.py", (1, 1))
    again = tmp_path / "again.img"
    build(tree, again, keys["key"], version="0.1.0")
    assert again.read_bytes() == img.read_bytes()


def test_imgtool_verify_accepts_the_image(keys, v1):
    _tree, img = v1
    imgtool = [sys.executable, "-c", "from imgtool.main import imgtool; imgtool()", "verify"]
    ok = subprocess.run(imgtool + ["-k", str(keys["key"]), str(img)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "correctly validated" in ok.stdout, ok.stdout + ok.stderr
    assert "Image version: 0.1.0+0" in ok.stdout
    bad = subprocess.run(imgtool + ["-k", str(keys["other"]), str(img)],
                         capture_output=True, text=True)
    assert bad.returncode != 0


def test_signing_matches_imgtool_cli_layout(keys, v1):
    """Header 32 bytes, plain flags, protected TLVs: SEC_CNT (imgtool's auto counter for
    0.1.0); TLVs SHA256, KEYHASH, ED25519."""
    _tree, img = v1
    data = img.read_bytes()
    magic, load, hdr, prot, size, flags, *_ = HEADER.unpack_from(data)
    assert (magic, load, hdr, prot, flags) == (0x96F3B83D, 0, 32, 12, 0)
    assert len(data) == 32 + size + 12 + 144
    assert struct.unpack_from("<HHHHI", data, 32 + size) == (0x6908, 12, 0x50, 4, 0x00010000)
    tlv = 32 + size + 12
    tlv_magic, tlv_tot = struct.unpack_from("<HH", data, tlv)
    assert (tlv_magic, tlv_tot) == (0x6907, 144)
    kinds = [struct.unpack_from("<HH", data, tlv + off)[0] for off in (4, 40, 76)]
    assert kinds == [0x10, 0x01, 0x24]


# -- deltas ------------------------------------------------------------------------------------
def v2_tree(root: Path) -> Path:
    files = dict(TREE_V1)
    files["firmware/version.py"] = '__version__ = "0.2.0"\n'     # what build() makes it
    files["firmware/app/main.py"] = "print('hello v2')\n" * 50
    files["firmware/app/new.py"] = "NEW = 1\n"
    del files["hal/blob.bin"]
    tree = make_tree(root, files)
    (tree / "firmware/run.sh").chmod(0o755)
    return tree


def test_delta_reproduces_the_full_tree(tmp_path, keys, v1):
    _tree1, img1 = v1
    tree2 = v2_tree(tmp_path / "src2")
    full2, delta2 = tmp_path / "v2.img", tmp_path / "v2-delta.img"
    build(tree2, full2, keys["key"])
    r = build(tree2, delta2, keys["key"], delta_from=img1)
    assert (r.kind, r.base_version, r.files_carried) == ("delta", "0.1.0", 3)
    assert delta2.stat().st_size < full2.stat().st_size
    insp = inspect_image(delta2, keys["pub"], list_payload=True)
    assert insp.payload_files == ("firmware/app/main.py", "firmware/app/new.py",
                                  "firmware/version.py")          # a new version: a new file
    assert insp.signature_ok

    root = tmp_path / "root/slots"
    install_image(img1, verify_image(img1, keys["pub"], "sim"), root / "a")
    info = verify_image(delta2, keys["pub"], "sim", base_dir=root / "a")
    assert info.kind == "delta" and info.base_manifest_sha256 == manifest_sha256(root / "a")
    install_image(delta2, info, root / "b", root / "a")
    install_image(full2, verify_image(full2, keys["pub"], "sim"), root / "c")
    from_delta, from_full = tree_files(root / "b"), tree_files(root / "c")
    from_delta.pop(MANIFEST_NAME), from_full.pop(MANIFEST_NAME)
    assert from_delta == from_full == tree_files(tree2)
    assert "hal/blob.bin" not in from_delta
    assert os.stat(root / "b/firmware/run.sh").st_mode & 0o777 == 0o755

    # a delta built on top of that delta applies to the slot the delta produced
    (tree2 / "hal/sim/static/page.html").write_text("<html>v3</html>\n")
    (tree2 / "firmware/version.py").write_text('__version__ = "0.3.0"\n')
    delta3 = tmp_path / "v3-delta.img"
    build(tree2, delta3, keys["key"], version="0.3.0", delta_from=delta2)
    info3 = verify_image(delta3, keys["pub"], "sim")
    install_image(delta3, info3, root / "a", root / "b")
    got = tree_files(root / "a")
    got.pop(MANIFEST_NAME)
    assert got == tree_files(tree2)


def test_delta_against_the_wrong_base_is_rejected(tmp_path, keys, v1):
    _tree1, img1 = v1
    delta = tmp_path / "d.img"
    build(v2_tree(tmp_path / "src2"), delta, keys["key"], delta_from=img1)
    other = tmp_path / "other.img"
    build(make_tree(tmp_path / "src3", {**TREE_V1, "hal/x.py": "x\n"}), other, keys["key"],
          version="0.1.5")
    root = tmp_path / "root/slots"
    install_image(other, verify_image(other, keys["pub"], "sim"), root / "a")
    info = verify_image(delta, keys["pub"], "sim")
    with pytest.raises(ImageError, match=r"delta is for base 0\.1\.0, this phone runs 0\.1\.5"):
        install_image(delta, info, root / "b", root / "a")
    with pytest.raises(ImageError, match="delta is for base 0.1.0"):
        verify_image(delta, keys["pub"], "sim", base_dir=root / "a")
    assert not (root / "b").exists() and not (root / "b.new").exists()

    # same version, another build of it: still refused, and said so
    same = tmp_path / "same.img"
    build(make_tree(tmp_path / "src4", {**TREE_V1, "hal/y.py": "y\n"}), same, keys["key"],
          version="0.1.0")
    install_image(same, verify_image(same, keys["pub"], "sim"), root / "a")
    with pytest.raises(ImageError, match="this phone runs 0.1.0 .another build"):
        install_image(delta, info, root / "b", root / "a")
    with pytest.raises(ImageError, match="needs the running slot"):
        install_image(delta, info, root / "b", None)


def test_delta_rejects_a_tampered_file_in_the_base_slot(tmp_path, keys, v1):
    _tree1, img1 = v1
    delta = tmp_path / "d.img"
    build(v2_tree(tmp_path / "src2"), delta, keys["key"], delta_from=img1)
    root = tmp_path / "root/slots"
    install_image(img1, verify_image(img1, keys["pub"], "sim"), root / "a")
    (root / "a/board/sim/board.toml").write_text('[board]\nname = "evil"\n')
    info = verify_image(delta, keys["pub"], "sim", base_dir=root / "a")   # manifest unchanged
    with pytest.raises(ImageError, match="board/sim/board.toml does not match"):
        install_image(delta, info, root / "b", root / "a")
    assert sorted(p.name for p in root.iterdir()) == ["a"]


def test_never_installs_over_the_running_slot(tmp_path, keys, v1):
    _tree, img = v1
    info = verify_image(img, keys["pub"], "sim")
    slot = tmp_path / "slots/a"
    install_image(img, info, slot)
    with pytest.raises(ImageError, match="running slot"):
        install_image(img, info, slot, slot)


def test_install_replaces_a_slot_and_clears_leftovers(tmp_path, keys, v1):
    _tree, img = v1
    info = verify_image(img, keys["pub"], "sim")
    slots = tmp_path / "slots"
    make_tree(slots / "a", {"stale.py": "old tree\n"})
    make_tree(slots / "a.new", {"half.py": "power cut while building\n"})
    make_tree(slots / "a.old", {"older.py": "power cut after the first rename\n"})
    install_image(img, info, slots / "a")
    assert sorted(p.name for p in slots.iterdir()) == ["a"]
    assert not (slots / "a/stale.py").exists()
    verify_slot(slots / "a")


# -- rejections --------------------------------------------------------------------------------
def test_rejects_another_key(keys, v1):
    _tree, img = v1
    with pytest.raises(ImageError, match="signature does not verify with this phone's key"):
        verify_image(img, keys["other_pub"], "sim")


def test_rejects_a_bad_signature_without_a_key_hash(tmp_path, keys, v1):
    """Drop the (unsigned) KEYHASH TLV: the signature itself must then fail."""
    _tree, img = v1
    data = img.read_bytes()
    tlv = read_header(data)[1]
    stripped = (data[:tlv] + struct.pack("<HH", 0x6907, 144 - 36)
                + data[tlv + 4:tlv + 40] + data[tlv + 76:])
    p = tmp_path / "nokeyhash.img"
    p.write_bytes(stripped)
    assert verify_image(p, keys["pub"], "sim").version == "0.1.0"
    with pytest.raises(ImageError,
                       match=r"^image signature does not verify with this phone's key$"):
        verify_image(p, keys["other_pub"], "sim")
    p.write_bytes(stripped[:-1] + bytes([stripped[-1] ^ 1]))
    with pytest.raises(ImageError, match="signature does not verify"):
        verify_image(p, keys["pub"], "sim")


def test_any_flipped_bit_is_rejected(tmp_path, keys, v1):
    _tree, img = v1
    data = bytearray(img.read_bytes())
    p = tmp_path / "flipped.img"
    accepted = []
    for i in range(len(data)):
        data[i] ^= 1 << (i % 8)
        p.write_bytes(data)
        data[i] ^= 1 << (i % 8)
        try:
            verify_image(p, keys["pub"], "sim")
            accepted.append(i)
        except ImageError:
            pass
    assert accepted == []


def test_rejects_truncated_and_padded_images(tmp_path, keys, v1):
    _tree, img = v1
    data = img.read_bytes()
    p = tmp_path / "cut.img"
    for n in (0, 10, 31, 32, 100, len(data) - 145, len(data) - 100, len(data) - 1):
        p.write_bytes(data[:n])
        with pytest.raises(ImageError):
            verify_image(p, keys["pub"], "sim")
    p.write_bytes(data[:-1])
    with pytest.raises(ImageError, match=f"image truncated: header says {len(data)} bytes, "
                                         f"got {len(data) - 1}"):
        verify_image(p, keys["pub"], "sim")
    p.write_bytes(data[:500])
    with pytest.raises(ImageError, match="image truncated"):
        verify_image(p, keys["pub"], "sim")
    p.write_bytes(data + b"\xff" * 16)
    with pytest.raises(ImageError, match="unexpected bytes after"):
        verify_image(p, keys["pub"], "sim")


def test_rejects_oversize(keys, v1):
    _tree, img = v1
    with pytest.raises(ImageError, match="image too large: .*a slot holds at most"):
        verify_image(img, keys["pub"], "sim", max_size=img.stat().st_size - 1)


def test_rejects_bad_magic_and_non_images(tmp_path, keys, v1):
    _tree, img = v1
    p = tmp_path / "bad.img"
    p.write_bytes(b"\0\0\0\0" + img.read_bytes()[4:])
    with pytest.raises(ImageError, match=r"not an MCUboot image \(bad magic\)"):
        verify_image(p, keys["pub"], "sim")
    p.write_bytes(b"#!/bin/sh\n" * 100)
    with pytest.raises(ImageError, match="bad magic"):
        verify_image(p, keys["pub"], "sim")
    with pytest.raises(ImageError, match="cannot read image"):
        verify_image(tmp_path / "missing.img", keys["pub"], "sim")


def test_rejects_wrong_board(keys, v1):
    _tree, img = v1
    with pytest.raises(ImageError, match="^image is for board sim, this phone is rpi4$"):
        verify_image(img, keys["pub"], "rpi4")


def test_rejects_dependency_major_mismatch(tmp_path, keys, v1):
    tree, _img = v1
    p = tmp_path / "deps.img"
    build(tree, p, keys["key"], dependencies={"pyserial": "99.1"})
    with pytest.raises(ImageError,
                       match=f"needs pyserial 99.1, this phone has pyserial {PYSERIAL}"):
        verify_image(p, keys["pub"], "sim")
    build(tree, p, keys["key"], dependencies={"pyserial": PYSERIAL.split(".")[0] + ".999"})
    verify_image(p, keys["pub"], "sim")           # same major: fine
    build(tree, p, keys["key"], dependencies={"hardphone-no-such-package": "1.0"})
    with pytest.raises(ImageError, match="hardphone-no-such-package 1.0, which is not installed"):
        verify_image(p, keys["pub"], "sim")
    build(tree, p, keys["key"], python=">=3.99")
    with pytest.raises(ImageError, match=r"needs Python >=3\.99"):
        verify_image(p, keys["pub"], "sim")


# -- anti-rollback -----------------------------------------------------------------------------
def test_the_security_counter_defaults_to_imgtools_auto(keys, v1):
    _tree, img = v1
    info = verify_image(img, keys["pub"], "sim")
    assert info.security_counter == auto_security_counter("0.1.0") == 0x00010000
    assert info.manifest["security_counter"] == 0x00010000       # what the slot keeps
    assert auto_security_counter("1.2.3+7") == (1 << 24) + (2 << 16) + 3


def test_verify_refuses_an_image_below_the_phones_counter(tmp_path, keys, v1):
    tree, img = v1                                                  # 0.1.0: 65536
    newer = tmp_path / "newer.img"
    build(tree, newer, keys["key"], version="0.2.0")                # 131072
    floor = auto_security_counter("0.2.0")
    assert verify_image(newer, keys["pub"], "sim", min_security_counter=floor).version == "0.2.0"
    with pytest.raises(RollbackError, match=r"^image security counter 65536 is below the "
                                            r"phone's 131072 \(anti-rollback\)$"):
        verify_image(img, keys["pub"], "sim", min_security_counter=floor)
    # the way back on purpose: the old version re-signed with the phone's counter
    resigned = tmp_path / "resigned.img"
    r = build(tree, resigned, keys["key"], version="0.1.0", security_counter=str(floor))
    assert r.security_counter == floor
    info = verify_image(resigned, keys["pub"], "sim", min_security_counter=floor)
    assert (info.version, info.security_counter) == ("0.1.0", floor)
    with pytest.raises(RollbackError, match="131072 is below the phone's 131073"):
        verify_image(resigned, keys["pub"], "sim", min_security_counter=floor + 1)


def test_the_counter_is_signed(tmp_path, keys, v1):
    """Raising the counter of an old image by hand breaks its hash and signature."""
    _tree, img = v1
    data = bytearray(img.read_bytes())
    at = 32 + HEADER.unpack_from(data)[4] + 8                      # the SEC_CNT value
    assert struct.unpack_from("<I", data, at)[0] == 0x00010000
    struct.pack_into("<I", data, at, 0x00FF0000)
    p = tmp_path / "raised.img"
    p.write_bytes(data)
    with pytest.raises(ImageError, match="corrupt"):
        verify_image(p, keys["pub"], "sim", min_security_counter=0x00020000)


def test_an_image_without_a_counter_counts_as_zero(tmp_path, keys):
    img = evil_image(tmp_path / "old.img", keys["key"], {"x.py": b"x\n"},
                     [_member("x.py", b"x\n")])
    assert HEADER.unpack_from(img.read_bytes())[3] == 0            # no protected TLVs at all
    insp = inspect_image(img, keys["pub"])
    assert insp.info.security_counter == 0 and not insp.has_security_counter
    assert verify_image(img, keys["pub"], "sim").security_counter == 0
    with pytest.raises(RollbackError, match="image security counter 0 is below the phone's 1 "):
        verify_image(img, keys["pub"], "sim", min_security_counter=1)


@pytest.mark.parametrize("tlv, manifest", [(3, 5), (None, 5), (5, None)])
def test_the_manifest_counter_must_match_the_tlv(tmp_path, keys, tlv, manifest):
    img = evil_image(tmp_path / "x.img", keys["key"], {"x.py": b"x\n"},
                     [_member("x.py", b"x\n")], counter=tlv, manifest_counter=manifest)
    with pytest.raises(ImageError, match=f"security counter TLV says {tlv or 0}, its manifest "
                                         f"says {manifest or 0}"):
        verify_image(img, keys["pub"], "sim")


@pytest.mark.parametrize("counter", ["-1", "abc", str(2 ** 32), "1.5"])
def test_build_rejects_a_bad_counter(tmp_path, keys, v1, counter):
    tree, _img = v1
    with pytest.raises(mk.BuildError, match="security counter"):
        build(tree, tmp_path / "x.img", keys["key"], security_counter=counter)
    assert not (tmp_path / "x.img").exists()


def test_cli_builds_and_shows_the_counter(tmp_path, keys, v1, capsys):
    tree, _img = v1
    out = tmp_path / "c.img"
    base = ["build", "--tree", str(tree), "--out", str(out), "--key", str(keys["key"]),
            "--version", "0.1.0", "--board", "sim"]
    assert mkimage_main(base) == 0
    assert "security counter 65536" in capsys.readouterr().out
    assert mkimage_main(["show", str(out), "--key", str(keys["key"])]) == 0
    assert "counter:    65536 (security counter, auto from version 0.1.0)" in \
        capsys.readouterr().out
    assert mkimage_main(base + ["--security-counter", "0x20000"]) == 0
    capsys.readouterr()
    assert mkimage_main(["show", str(out), "--key", str(keys["key"])]) == 0
    assert ("counter:    131072 (security counter, set explicitly; auto for 0.1.0 would be "
            "65536)") in capsys.readouterr().out
    assert verify_image(out, keys["pub"], "sim", min_security_counter=131072).version == "0.1.0"


# -- malicious payloads, signed with the trusted key -------------------------------------------
def _member(name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    return info, data


def evil_image(path: Path, key: Path, listed: dict, members, version="0.2.0",
               counter=None, manifest_counter=None):
    """An image whose manifest lists ``listed`` (name -> bytes) and whose tar holds
    ``members`` after manifest.json, signed with ``key``; ``counter`` the SEC_CNT TLV (None:
    none), ``manifest_counter`` the manifest's security_counter (None: none)."""
    manifest = {"format": 1, "kind": "full", "version": version, "boards": ["sim"],
                "base": None, "python": PY, "dependencies": {},
                "files": {n: mk.file_entry(d, 0o644) for n, d in listed.items()}}
    if manifest_counter is not None:
        manifest["security_counter"] = manifest_counter
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in [_member(MANIFEST_NAME, mk.manifest_bytes(manifest)), *members]:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    path.write_bytes(mk.sign_payload(lzma.compress(buf.getvalue()), "0.2.0", key, counter))
    return path


@pytest.mark.parametrize("members, problem", [
    ([_member("../evil.py", b"pwned\n")], "unsafe path"),
    ([_member("/tmp/evil.py", b"pwned\n")], "unsafe path"),
    ([_member("firmware/../../evil.py", b"pwned\n")], "unsafe path"),
    ([_member("x.py", kind=tarfile.SYMTYPE, linkname="/etc/passwd")], "is a symlink"),
    ([_member("x.py", kind=tarfile.LNKTYPE, linkname="../outside")], "is a hard link"),
    ([_member("x.py", kind=tarfile.CHRTYPE)], "is a device"),
    ([_member("x.py", b"x = 1\n"), _member("extra.py", b"boo\n")], "does not list"),
    ([_member("x.py", b"x = 2\n")], "does not match the signed manifest"),
    ([], "lacks 1 file"),
])
def test_install_rejects_malicious_payloads(tmp_path, keys, members, problem):
    img = evil_image(tmp_path / "evil.img", keys["key"], {"x.py": b"x = 1\n"}, members)
    info = verify_image(img, keys["pub"], "sim")       # signed by us: only install can tell
    slots = tmp_path / "root/slots"
    with pytest.raises(ImageError, match=problem):
        install_image(img, info, slots / "b")
    assert not (slots / "b").exists() and not (slots / "b.new").exists()
    assert not (tmp_path / "root/evil.py").exists() and not (tmp_path / "evil.py").exists()


def test_verify_rejects_unsafe_manifest_paths(tmp_path, keys):
    img = evil_image(tmp_path / "evil.img", keys["key"], {"../x.py": b"x\n"}, [])
    with pytest.raises(ImageError, match="unsafe path in image: '../x.py'"):
        verify_image(img, keys["pub"], "sim")


def test_rejects_header_and_manifest_version_disagreeing(tmp_path, keys):
    img = evil_image(tmp_path / "v.img", keys["key"], {"x.py": b"x\n"},
                     [_member("x.py", b"x\n")], version="9.9.9")
    with pytest.raises(ImageError, match="header says version 0.2.0, its manifest says 9.9.9"):
        verify_image(img, keys["pub"], "sim")


def test_build_rejects_bad_input(tmp_path, keys, v1):
    tree, _img = v1
    with pytest.raises(mk.BuildError, match="MAJOR.MINOR.REVISION"):
        build(tree, tmp_path / "x.img", keys["key"], version="0.2.0rc1")
    with pytest.raises(mk.BuildError, match="unknown board pi5"):
        build(tree, tmp_path / "x.img", keys["key"], boards=["pi5"])
    with pytest.raises(mk.BuildError, match="cannot read key"):
        build(tree, tmp_path / "x.img", tmp_path / "nokey.pem")
    with pytest.raises(mk.BuildError, match="not a PEM private key"):
        build(tree, tmp_path / "x.img", tree / "firmware/version.py")


# -- the CLI -----------------------------------------------------------------------------------
def test_cli_build_show_provision(tmp_path, keys, v1, capsys):
    tree, _img = v1
    out = tmp_path / "out/cli.img"
    assert mkimage_main(["build", "--tree", str(tree), "--out", str(out), "--key",
                         str(keys["key"]), "--version", "0.1.0", "--board", "sim"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert mkimage_main(["show", str(out), "--key", str(keys["key"])]) == 0
    shown = capsys.readouterr().out
    assert "version:    0.1.0" in shown and "signature:  ok" in shown
    assert mkimage_main(["show", str(out), "--key", str(keys["other"])]) == 1
    assert mkimage_main(["provision", "--root", str(tmp_path / "root"), "--image", str(out),
                         "--slot", "a", "--key", str(keys["key"])]) == 0
    assert slot_version(tmp_path / "root/slots/a") == "0.1.0"
    capsys.readouterr()
    assert mkimage_main(["show", str(tmp_path / "nope.img"), "--key", str(keys["key"])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mkimage show: error: cannot read image") and err.count("\n") == 1


def test_an_image_built_as_another_version_reports_that_version(tmp_path, keys, capsys):
    """--version other than the tree's: the installed firmware/version.py says the image's
    version (what `version` and the banner print), and the source tree is left as it was."""
    source = '"""The firmware version."""\n__version__ = "0.1.0"   # bumped by release\n'
    tree = make_tree(tmp_path / "src", {**TREE_V1, "firmware/version.py": source})
    out = tmp_path / "out/x.img"
    assert mkimage_main(["build", "--tree", str(tree), "--out", str(out), "--key",
                         str(keys["key"]), "--version", "3.1.0", "--board", "sim"]) == 0
    said = capsys.readouterr().out
    assert "firmware/version.py: the tree says 0.1.0; the image's copy says 3.1.0" in said
    assert "warning" not in said
    assert mkimage_main(["provision", "--root", str(tmp_path / "root"), "--image", str(out),
                         "--slot", "a", "--key", str(keys["key"])]) == 0
    slot = tmp_path / "root/slots/a"
    assert (slot / "firmware/version.py").read_text() == (
        '"""The firmware version."""\n__version__ = "3.1.0"   # bumped by release\n')
    assert verify_slot(slot)["version"] == "3.1.0" == slot_version(slot)
    assert (tree / "firmware/version.py").read_text() == source
    # built as the tree's own version, the file goes in byte for byte
    same = tmp_path / "out/same.img"
    build(tree, same, keys["key"], version="0.1.0")
    install_image(same, verify_image(same, keys["pub"], "sim"), tmp_path / "root/slots/b")
    assert (tmp_path / "root/slots/b/firmware/version.py").read_text() == source


def test_cli_generates_the_default_key_on_first_build(tmp_path, monkeypatch, capsys):
    tree = make_tree(tmp_path / "src", TREE_V1)
    monkeypatch.chdir(tmp_path)
    assert mkimage_main(["build", "--tree", str(tree), "--board", "sim"]) == 0
    assert "generated keys/dev-ed25519.pem" in capsys.readouterr().out
    assert os.stat(tmp_path / "keys/dev-ed25519.pem").st_mode & 0o777 == 0o600
    assert (tmp_path / "keys/dev-ed25519.pub.pem").is_file()
    assert (tmp_path / "out/hardphone-0.1.0.img").is_file()


# -- the real tree -----------------------------------------------------------------------------
def test_the_repo_tree(tmp_path, keys):
    files = mk.collect_files(REPO)
    assert "pyproject.toml" in files and "firmware/version.py" in files
    assert "board/sim/board.toml" in files and "board/rpi4/board.toml" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")
                or f.startswith(("tests/", "tools/", "keys/", "var/", "out/", ".venv/"))]
    img = tmp_path / "repo.img"
    r = mk.build_image(REPO, img, keys["key"], files=files)
    assert set(r.boards) == set(mk.tree_boards(REPO)) >= {"sim", "rpi4"}
    for board in r.boards:
        info = verify_image(img, keys["pub"], board)
    slot = tmp_path / "slots/a"
    install_image(img, info, slot)
    assert verify_slot(slot)["version"] == r.version
    version_py = "firmware/version.py"
    assert (slot / version_py).read_bytes() == (REPO / version_py).read_bytes()
