"""PSS per container of berth-shim, beside containerd-shim-runc-v2 and conmon.

Five busybox ``sleep 60`` containers each, the median of the shims' ``Pss`` from
``/proc/<pid>/smaps_rollup`` (proportional set size: shared pages divided among the
processes mapping them, so the libpython and libc pages five shims share count a fifth
each — what one more container costs). Peers: a private containerd (own root, state and
socket; ``ctr run --rootfs``) and podman (``--rootfs``, its conmon), each skipped with a
note when missing or failing. Run as root: ``.venv/bin/python bench/shim_pss.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from berth.shim.client import ShimClient, launch
from berth.testing.bundles import make_bundle
from berth.testing.busybox import template

N = 5
VENV_BIN = os.path.dirname(sys.executable)
TAG = "berth-bench-pss"


def pss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss for {pid}")


def children_named(name: str) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() == name:
                        out.append(int(p))
            except OSError:
                pass
    return out


def berth(base: str, tmpl: str) -> list[int]:
    shims: list[tuple[str, int]] = []
    try:
        for i in range(N):
            d = os.path.join(base, f"berth{i}")
            make_bundle(f"{d}/bundle", tmpl, ["sleep", "60"], cgroups_path=f"/{TAG}-{i}")
            sd = f"{d}/state"
            pid = launch(
                [os.path.join(VENV_BIN, "berth-shim")], id=f"{TAG}-{i}", bundle=f"{d}/bundle",
                state_dir=sd, runtime=os.path.join(VENV_BIN, "berth-runtime"),
                runtime_root=f"{base}/rroot", log_path=f"{d}/c-json.log",
            )  # fmt: skip
            ShimClient(sd).start()
            shims.append((sd, pid))
        time.sleep(0.5)
        return [pss_kib(pid) for _, pid in shims]
    finally:
        for sd, pid in shims:
            try:
                ShimClient(sd).delete(force=True)
            except Exception as exc:
                print(f"cleanup {sd}: {exc}", file=sys.stderr)
                os.kill(pid, signal.SIGKILL)


def containerd(base: str, tmpl: str) -> list[int] | str:
    if not shutil.which("containerd") or not shutil.which("ctr"):
        return "containerd not installed"
    root, state, addr = f"{base}/ctd-root", f"{base}/ctd-state", f"{base}/ctd.sock"
    log = open(f"{base}/containerd.log", "wb")
    d = subprocess.Popen(
        ["containerd", "--root", root, "--state", state, "--address", addr],
        stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    ctr = ["ctr", "--address", addr, "-n", TAG]
    ids: list[str] = []
    try:
        for _ in range(100):
            if subprocess.run([*ctr, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        for i in range(N):
            rootfs = f"{base}/ctd{i}/rootfs"
            shutil.copytree(tmpl, rootfs, symlinks=True)
            cid = f"{TAG}-ctd-{i}"
            r = subprocess.run(
                [*ctr, "run", "-d", "--cgroup", f"/{cid}", "--rootfs", rootfs, cid, "/bin/sleep", "60"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if r.returncode != 0:
                return f"ctr run failed: {r.stderr.strip()}"
            ids.append(cid)
        time.sleep(0.5)
        shims = [
            p for p in children_named("containerd-shim") + children_named("containerd-shim-runc-v2")
            if state in open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")
            or addr in open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")
        ]  # fmt: skip
        if not shims:
            return "no containerd shim found"
        return [pss_kib(p) for p in shims]
    finally:
        for cid in ids:
            subprocess.run([*ctr, "task", "kill", "-s", "SIGKILL", cid], capture_output=True)
        for cid in ids:
            for _ in range(50):
                if (
                    subprocess.run([*ctr, "task", "delete", cid], capture_output=True).returncode
                    == 0
                ):
                    break
                time.sleep(0.1)
            subprocess.run([*ctr, "container", "delete", cid], capture_output=True)
        d.terminate()
        try:
            d.wait(20)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()
        subprocess.run(["umount", "-R", root], capture_output=True)
        subprocess.run(["umount", "-R", state], capture_output=True)


def podman(base: str, tmpl: str) -> list[int] | str:
    if not shutil.which("podman") or not shutil.which("conmon"):
        return "podman/conmon not installed"
    pm = ["podman", "--runtime", shutil.which("runc") or "runc", "--root", f"{base}/pm-root", "--runroot", f"{base}/pm-run",
          "--cgroup-manager", "cgroupfs", "--events-backend", "none"]  # fmt: skip
    ids: list[str] = []
    try:
        for i in range(N):
            rootfs = f"{base}/pm{i}/rootfs"
            shutil.copytree(tmpl, rootfs, symlinks=True)
            r = subprocess.run(
                [*pm, "run", "-d", "--net", "none", "--name", f"{TAG}-pm-{i}",
                 "--cgroup-parent", f"/{TAG}-pm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--rootfs", rootfs, "sleep", "60"],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            if r.returncode != 0:
                return f"podman run failed: {r.stderr.strip()[-300:]}"
            ids.append(r.stdout.strip())
        time.sleep(0.5)
        mons = [p for p in children_named("conmon")
                if any(i in open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace") for i in ids)]  # fmt: skip
        if not mons:
            return "no conmon found"
        return [pss_kib(p) for p in mons]
    finally:
        if ids:
            subprocess.run([*pm, "rm", "-f", "-t", "0", *ids], capture_output=True, timeout=120)
        subprocess.run(["umount", "-R", f"{base}/pm-root"], capture_output=True)
        # podman puts conmon in <parent>/conmon, the runtime its own cgroup beside it;
        # conmon may outlive `podman rm` by a moment.
        for _ in range(50):
            left = False
            for top in os.listdir("/sys/fs/cgroup"):
                for dirpath, _, _ in list(os.walk(f"/sys/fs/cgroup/{top}/{TAG}-pm", topdown=False)):
                    try:
                        os.rmdir(dirpath)
                    except OSError:
                        left = True
            if not left:
                break
            time.sleep(0.1)
        subprocess.run(["umount", "-R", f"{base}/pm-run"], capture_output=True)
        _unmount_under(base)


def _unmount_under(base: str) -> None:
    """podman's storage bind-mounts ``pm-root/overlay`` onto itself: take down every mount
    below ``base``, deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for m in sorted((p for p in points if p == base or p.startswith(base + "/")), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


def main() -> int:
    if os.geteuid() != 0:
        print("shim_pss: needs root", file=sys.stderr)
        return 1
    base = tempfile.mkdtemp(prefix=f"{TAG}-")
    peers = "--no-peers" not in sys.argv
    try:
        tmpl = template(os.path.join(base, "tmpl"))
        rows: dict[str, list[int] | str] = {"berth-shim": berth(base, tmpl)}
        if peers:
            rows["containerd-shim-runc-v2"] = containerd(base, tmpl)
            rows["conmon (podman)"] = podman(base, tmpl)
        lines = [
            f"# shim PSS per container, {N} busybox 'sleep 60' each — {time.strftime('%Y-%m-%d %H:%M')}"
        ]
        for name, v in rows.items():
            if isinstance(v, str):
                lines.append(f"{name:<26} skipped: {v}")
            else:
                lines.append(
                    f"{name:<26} median {statistics.median(v) / 1024:6.2f} MiB   (KiB: {sorted(v)})"
                )
        print("\n".join(lines))
        results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
        os.makedirs(results, exist_ok=True)
        with open(os.path.join(results, "shim_pss.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
