"""bench/run_latency: how fast containers run, berth vs docker vs podman, side by side in
one run, all with busybox made on this machine and no network (``none``: dockerd runs
with ``--bridge=none``, podman and berth with ``--network none``). One more row, berth on
its default bridge network (a veth, an address, the firewall untouched), shows what
networking adds to a run.

Cases (each a fresh CLI process, as a user types it):
- ``run --rm busybox true``: create, start, wait for the exit, remove — the issue's
  headline number (goal: berth ≤ 0.5 x docker);
- ``run -d`` x50: fifty sequential detached ``run -d busybox sleep 300`` (the total);
- ``ps``: the round trip of ``ps`` with those fifty running.

berth is measured twice: its own CLI, and the docker CLI pointed at berthd (the same
daemon work, docker's client cost) — which separates client start from daemon work.

    .venv/bin/python3 bench/run_latency.py [-n 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (
    DOCKERD_NO_NETWORK,
    clean_env,
    measure,
    report,
    run,
    start_dockerd,
    stop_dockerd,
    summary,
)

from berth.testing import busybox
from berth.testing.berthd import Berthd
from berth.testing.images import layer_tar, oci_archive

VENV_BIN = os.path.dirname(sys.executable)
BERTH = os.path.join(VENV_BIN, "berth")
DOCKER = next((p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if os.access(p, os.X_OK)), None)
DOCKER28 = "/usr/local/bin/docker" if os.access("/usr/local/bin/docker", os.X_OK) else DOCKER
PODMAN = shutil.which("podman")


class Engine:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], run_extra: list[str] | None = None) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.run_extra = run_extra or []

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return run([*self.argv, *args], env=self.env, check=check)

    def run_rm(self) -> None:
        self("run", "--rm", *self.run_extra, "busybox", "true")

    def run_d_many(self, n: int) -> float:
        t = time.perf_counter()
        for _ in range(n):
            self("run", "-d", *self.run_extra, "busybox", "sleep", "300")
        return time.perf_counter() - t

    def rm_all(self) -> None:
        ids = self("ps", "-aq").stdout.decode().split()
        if ids:
            self("rm", "-f", *ids, check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--many", type=int, default=50)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="berth-bench-run-", dir="/tmp")
    rows: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    dockerd = None
    d = None
    try:
        tpl = busybox.template(os.path.join(tmp, "tpl"))
        archive = oci_archive(layer_tar(tpl), "docker.io/library/busybox:latest")
        d = Berthd.start("bench-run")
        status, _, body = d.request("POST", "/images/load?quiet=1", body=archive)
        assert status == 200, body
        saved = os.path.join(tmp, "busybox.tar")
        with open(saved, "wb") as f:
            f.write(run([BERTH, "save", "busybox:latest"], env=clean_env(BERTH_HOST=d.host)).stdout)
        none = ["--network", "none"]
        engines = [Engine("berth", [BERTH], clean_env(BERTH_HOST=d.host), none)]
        if DOCKER28:
            engines.append(Engine("docker CLI → berthd", [DOCKER28], clean_env(DOCKER_HOST=d.host, DOCKER_CONFIG=os.path.join(tmp, "dc1")), none))
        started = start_dockerd(tmp, DOCKER, [*DOCKERD_NO_NETWORK, "--containerd-namespace", "berth-bench",
                                              "--containerd-plugins-namespace", "berth-bench-p"])  # fmt: skip
        if started:
            dockerd, denv = started
            dk = Engine("docker", [DOCKER or "docker"], denv)
            dk("load", "-i", saved)
            engines.append(dk)
            notes.append("docker: a private dockerd 20.10 with containerd 1.6 and runc 1.1.5, --bridge=none")
        if PODMAN:
            proot = os.path.join(tmp, "podman")
            pargv = [PODMAN, "--root", f"{proot}/root", "--runroot", f"{proot}/run", "--runtime", "runc",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "none"]  # fmt: skip
            pm = Engine("podman", pargv, clean_env(),
                        ["--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000"])  # fmt: skip
            pm("load", "-i", saved)
            engines.append(pm)
            notes.append("podman: 4.3 with runc, cgroupfs, --network none")
        for e in engines:
            rows[f"{e.name}: run --rm true"] = summary(measure(e.run_rm, args.n))
        bridged = Engine("berth (default bridge)", [BERTH], clean_env(BERTH_HOST=d.host))
        rows["berth (default bridge): run --rm true"] = summary(measure(bridged.run_rm, args.n))
        for e in engines:
            total = e.run_d_many(args.many)
            rows[f"{e.name}: run -d x{args.many} (total)"] = {"n": 1, "median_ms": total * 1e3, "mean_ms": total * 1e3, "p90_ms": total * 1e3}
            rows[f"{e.name}: ps ({args.many} running)"] = summary(measure(lambda e=e: e("ps"), args.n))
            e.rm_all()
        b = rows.get("berth: run --rm true", {}).get("median_ms")
        k = rows.get("docker: run --rm true", {}).get("median_ms")
        if b and k:
            notes.append(f"run --rm: berth / docker = {b / k:.2f} (goal ≤ 0.5)")
        b = rows.get(f"berth: run -d x{args.many} (total)", {}).get("median_ms")
        k = rows.get(f"docker: run -d x{args.many} (total)", {}).get("median_ms")
        if b and k:
            notes.append(f"run -d x{args.many}: berth / docker = {b / k:.2f}")
        b = rows.get(f"berth: ps ({args.many} running)", {}).get("median_ms")
        k = rows.get(f"docker: ps ({args.many} running)", {}).get("median_ms")
        if b and k:
            notes.append(f"ps: berth / docker = {b / k:.2f}")
        print(report("run_latency", rows, "berth: run --rm true", notes))
    finally:
        if d is not None:
            d.stop()
            d.cleanup()
        if dockerd is not None:
            stop_dockerd(dockerd)
        subprocess.run(["sh", "-c", f"grep {tmp} /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l"], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
