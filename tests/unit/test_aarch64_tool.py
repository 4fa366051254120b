"""tools/aarch64: the pure parts (the check itself runs as root: python -m tools.aarch64 all)."""
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tools.aarch64 import binfmt, check, root, wheels
from tools.aarch64.__main__ import STEPS, parse_args

DEBIAN_QEMU_AARCH64 = (
    r":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
    r"\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff"
    r"\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF")


def test_registration_is_debians_line_for_its_wrapper():
    line = binfmt.registration("/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
    assert line.lower() == DEBIAN_QEMU_AARCH64.lower()


def test_registration_with_plain_qemu_drops_argv0_preservation():
    line = binfmt.registration("/usr/bin/qemu-aarch64-static", "OF")
    assert line.startswith(":qemu-aarch64:M::\\x7f\\x45\\x4c\\x46")
    assert line.endswith(":/usr/bin/qemu-aarch64-static:OF")
    with pytest.raises(ValueError, match="binfmt-P"):
        binfmt.registration("/usr/bin/qemu-aarch64-static", "OPF")


def test_registration_refuses_a_handler_a_chroot_cannot_use():
    with pytest.raises(ValueError, match="F flag"):
        binfmt.registration("/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "OP")


def test_magic_and_mask_match_an_aarch64_executable_and_shared_object():
    for e_type in (2, 3):       # ET_EXEC, ET_DYN (PIE)
        header = bytearray(binfmt.AARCH64_MAGIC)
        header[16] = e_type
        header[7] = 3           # OS ABI: masked out
        assert all((h & m) == (g & m) for h, m, g in
                   zip(header, binfmt.AARCH64_MASK, binfmt.AARCH64_MAGIC))
    x86_64 = bytearray(binfmt.AARCH64_MAGIC)
    x86_64[18] = 0x3e
    assert not all((h & m) == (g & m) for h, m, g in
                   zip(x86_64, binfmt.AARCH64_MASK, binfmt.AARCH64_MAGIC))


def test_status_file_parsing():
    status = binfmt.parse_status("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P"
                                 "\nflags: POF\noffset 0\nmagic 7f454c46\n")
    assert status["state"] == "enabled" and status["flags"] == "POF"
    assert binfmt.handler_ok(status)
    assert not binfmt.handler_ok({**status, "flags": "PO"})
    assert not binfmt.handler_ok({**status, "state": "disabled"})


def test_platform_tags_for_debian_12():
    tags = wheels.platform_tags((2, 36))
    assert tags[0] == "manylinux_2_36_aarch64" and tags[-2] == "manylinux_2_17_aarch64"
    assert tags[-1] == "manylinux2014_aarch64" and len(tags) == 21
    assert "manylinux_2_34_aarch64" in tags        # cryptography's and lgpio's wheels
    assert not any("x86_64" in t for t in tags)
    with pytest.raises(ValueError):
        wheels.platform_tags((2, 12))


def test_binary_args_ask_for_cpython_311_aarch64_wheels_only():
    args = wheels.binary_args((2, 17))
    assert args[0] == "--only-binary=:all:"
    assert args[args.index("--python-version") + 1] == "3.11"
    abis = [args[i + 1] for i, a in enumerate(args) if a == "--abi"]
    assert abis == ["cp311", "abi3", "none"]
    platforms = [args[i + 1] for i, a in enumerate(args) if a == "--platform"]
    assert platforms == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]


def test_runtime_requirements_leave_dev_out(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[build-system]\nrequires = ["setuptools>=68"]\n'
                         '[project]\nname = "x"\ndependencies = ["msgspec>=0.18"]\n'
                         '[project.optional-dependencies]\nrpi = ["lgpio>=0.2"]\n'
                         'dev = ["pytest>=8"]\n')
    assert wheels.project_requirements(pyproject) == ["msgspec>=0.18", "lgpio>=0.2"]
    assert wheels.build_requirements(pyproject) == ["setuptools>=68", "wheel"]


def test_the_projects_own_requirements_have_the_pi_extra():
    reqs = wheels.project_requirements(Path(__file__).resolve().parents[2] / "pyproject.toml")
    names = {Requirement(r).name for r in reqs}
    assert {"pyalsaaudio", "baresip-python", "cryptography", "lgpio"} <= names
    assert "pytest" not in names


def test_markers_are_evaluated_for_the_pi():
    assert wheels.applies(Requirement('foo; platform_machine == "aarch64"'))
    assert not wheels.applies(Requirement('foo; platform_machine == "x86_64"'))
    assert not wheels.applies(Requirement('foo; python_version < "3.10"'))
    assert not wheels.applies(Requirement('foo; sys_platform == "win32"'))
    assert not wheels.applies(Requirement('foo; extra == "socks"'))
    assert wheels.applies(Requirement('foo; extra == "socks"'), frozenset({"socks"}))


def test_dist_names():
    name, version = wheels.dist_name_version(Path(
        "baresip_python-0.5.2a3-cp311-cp311-manylinux2014_aarch64.whl"))
    assert (name, str(version)) == ("baresip-python", "0.5.2a3")
    name, version = wheels.dist_name_version(Path("pyalsaaudio-0.11.0.tar.gz"))
    assert (name, str(version)) == ("pyalsaaudio", "0.11.0")


def test_mirror_from_apt_sources():
    deb822 = ("Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: x\n\n"
              "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n")
    assert root.mirror_from_sources([deb822]) == "http://mirror.example/debian"
    one_line = "deb [arch=amd64] http://ftp.de.debian.org/debian bookworm main\n"
    assert root.mirror_from_sources(["deb https://packages.cloud.google.com/apt x main",
                                     one_line]) == "http://ftp.de.debian.org/debian"
    assert root.mirror_from_sources([]) == root.DEFAULT_MIRROR


def test_debootstrap_command():
    argv = root.Recipe(mirror="http://m/debian").debootstrap_argv(Path("/r"))
    assert argv[:3] == ["debootstrap", "--arch=arm64", "--variant=minbase"]
    assert argv[-3:] == ["bookworm", "/r", "http://m/debian"]
    included = argv[3].removeprefix("--include=").split(",")
    assert {"python3", "python3-venv", "systemd", "udev", "ca-certificates"} <= set(included)


def test_sim_config_takes_the_installed_update_root_and_key():
    text = check.sim_config({"update": {"root": "/var/lib/hardphone/update",
                                        "public_key": "/etc/hardphone/update-key.pem"},
                             "time": {"wait_for_sync": True}})
    import tomllib
    cfg = tomllib.loads(text)
    assert cfg["update"] == {"root": "/var/lib/hardphone/update",
                             "public_key": "/etc/hardphone/update-key.pem"}
    assert cfg["board_page"] == {"port": 0} and cfg["phone"]["state_dir"] == check.SIM_STATE
    assert "time" not in cfg


def test_cli():
    assert parse_args(["all"]).steps == STEPS
    args = parse_args(["check", "--boot-timeout", "300", "--", "-k", "status"])
    assert args.steps == ("check",) and args.boot_timeout == 300
    assert args.pytest_args == ["-k", "status"]
    assert parse_args(["root", "--fresh"]).fresh
    with pytest.raises(SystemExit):
        parse_args(["install", "--fresh"])
    with pytest.raises(SystemExit):
        parse_args([])


def test_elf_machine_names_the_cpu():
    header = bytearray(binfmt.AARCH64_MAGIC)
    header[16] = 3
    assert check.elf_machine(bytes(header)) == "ELF 64-bit aarch64"
    header[18] = 0x3e
    assert check.elf_machine(bytes(header)) == "ELF 64-bit x86-64"
    assert check.elf_machine(b"#!/bin/sh\n" + bytes(10)) == "not an ELF file"


def test_symlinks_resolve_inside_the_root(tmp_path):
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/python3.11").write_bytes(b"")
    (tmp_path / "usr/bin/python3").symlink_to("python3.11")
    (tmp_path / "usr/bin/py").symlink_to("/usr/bin/python3")     # absolute: the root's, not ours
    assert check.resolve_in(tmp_path, "/usr/bin/py") == "/usr/bin/python3.11"
    assert check.resolve_in(tmp_path, "/usr/bin/python3.11") == "/usr/bin/python3.11"


def test_ensure_needs_root(monkeypatch):
    monkeypatch.setattr(binfmt.os, "geteuid", lambda: 1000)
    with pytest.raises(binfmt.BinfmtError, match="must run as root"):
        binfmt.ensure(log=lambda line: None)


def test_ensure_keeps_a_usable_handler(monkeypatch, tmp_path):
    monkeypatch.setattr(binfmt.os, "geteuid", lambda: 0)
    monkeypatch.setattr(binfmt, "BINFMT_DIR", tmp_path)
    (tmp_path / "register").write_text("")
    (tmp_path / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\n")
    said = binfmt.ensure(log=lambda line: None)
    assert said == "qemu-aarch64 -> /usr/libexec/qemu-binfmt/aarch64-binfmt-P (flags POF)"
    assert (tmp_path / "register").read_text() == ""         # nothing registered again
