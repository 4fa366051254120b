"""The phone on aarch64, proven on this amd64 machine (issue 16): python -m tools.aarch64 all.

An arm64 Debian 12 root (what Raspberry Pi OS is built on) from debootstrap, the phone
installed into it by deploy/install.sh as on a Pi, booted on the sim board, and the HIL
console suite run against it from the host over a pty. arm64 code runs under qemu-user-static
through a binfmt_misc handler with the F flag, so a plain chroot runs everything (dpkg, apt,
pip, gcc), as Raspberry Pi image builders (pi-gen) do. Needs root.

    root.py     debootstrap, cached in var/aarch64/root
    wheels.py   the runtime dependencies as aarch64 wheels (var/aarch64/wheels)
    install.py  a fresh copy of the root (var/aarch64/phone) and install.sh in it
    check.py    boot, boot time, the HIL console suite
    binfmt.py   the qemu-aarch64 handler; chroot.py  bind mounts and commands inside
"""
