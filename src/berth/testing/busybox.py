"""A busybox root filesystem from Debian's busybox-static, made on this machine.

:func:`template` builds one per session (the binary plus a symlink per applet, a minimal
/etc); :func:`rootfs` gives each test a copy that hard-links the binary, so a fresh rootfs
costs a few milliseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["BUSYBOX", "rootfs", "template"]

BUSYBOX = "/bin/busybox"

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
GROUP = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n"


def template(dest: str) -> str:
    """Build the template rootfs at ``dest`` (idempotent)."""
    marker = os.path.join(dest, ".berth-template")
    if os.path.exists(marker):
        return dest
    if not os.path.exists(BUSYBOX):
        raise FileNotFoundError(f"{BUSYBOX} is missing: install Debian's busybox-static (make install)")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user", "var/tmp"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(dest, "bin/busybox"))
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        link = os.path.join(dest, a)
        if os.path.lexists(link) or a == "bin/busybox":
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    with open(os.path.join(dest, "etc/passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(dest, "etc/group"), "w") as f:
        f.write(GROUP)
    with open(os.path.join(dest, "etc/hostname"), "w") as f:
        f.write("busybox\n")
    open(marker, "w").close()
    return dest


def rootfs(template_dir: str, dest: str) -> str:
    """A private copy of the template at ``dest`` (the busybox binary hard-linked)."""
    subprocess.run(["cp", "-a", "--link", template_dir, dest], check=True)
    os.unlink(os.path.join(dest, ".berth-template"))
    return dest
