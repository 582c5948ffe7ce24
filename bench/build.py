"""bench/build: image build speed — berth's classic builder vs docker's classic builder
(``DOCKER_BUILDKIT=0``) vs podman (buildah), side by side in one run, all from busybox
made on this machine and with no network (every builder gets ``--network none``).

The context, made in a temp dir: ``big.bin`` (50 MiB of random bytes), ``small/`` (1000
files of 100 bytes) and an 8-step Dockerfile (FROM, ENV, WORKDIR, COPY of the big file,
COPY of the directory, RUN, LABEL, CMD).

Cases, each a fresh CLI process as a user types it (``build --network none -t …``):
- **cold**: nothing cached — before each, the image is removed with every intermediate
  image (berth: ``rmi`` + ``builder prune -f``; docker classic: ``rmi``, which removes the
  untagged parents that are its cache; podman: ``rmi`` + ``image prune -f``);
- **cached**: the same build again at once, every step a cache hit.

Goals (the issue): cold no slower than docker classic; cached rebuild ≤ 0.2 s. Each
build's output is read as it comes and every ``Step N/M`` line stamped, so the report
also shows where each builder spends its time, step by step (the time from one step's
line to the next; the last step runs to the end of the command).

    .venv/bin/python3 bench/build.py [--cold 3] [--cached 5]
"""

from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DOCKERD_NO_NETWORK, clean_env, report, run, start_dockerd, stop_dockerd, summary

from berth.testing import busybox
from berth.testing.berthd import Berthd
from berth.testing.images import layer_tar, oci_archive

VENV_BIN = os.path.dirname(sys.executable)
BERTH = os.path.join(VENV_BIN, "berth")
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")
PODMAN = shutil.which("podman")
TAG = "bench-build:latest"
BIG_MIB = 50
SMALL_FILES = 1000
DOCKERFILE = """\
FROM busybox
ENV APP=bench
WORKDIR /app
COPY big.bin /app/
COPY small/ /app/small/
RUN ls /app/small | wc -l > /app/count
LABEL bench=1
CMD ["cat", "/app/count"]
"""
STEPS = [line for line in DOCKERFILE.splitlines() if line]
STEP_RE = re.compile(rb"^\s*step (\d+)/(\d+)", re.IGNORECASE)
CACHE_RE = re.compile(rb"using cache", re.IGNORECASE)
BUILD_TIMEOUT = 120.0


class Build:
    """One build's result: wall time, seconds per step (by the stamps of its ``Step``
    lines), how many steps said ``Using cache``, and the output."""

    def __init__(
        self, seconds: float, steps: dict[int, float], cache_hits: int, output: bytes
    ) -> None:
        self.seconds, self.steps, self.cache_hits, self.output = seconds, steps, cache_hits, output


def timed_build(argv: list[str], env: dict[str, str]) -> Build:
    """Run a build command, reading its output (stdout and stderr merged) as it comes, so
    each ``Step N/M`` line gets the time it was printed."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    assert p.stdout is not None
    fd = p.stdout.fileno()
    buf, out = b"", bytearray()
    stamps: list[tuple[int, float]] = []
    deadline = t0 + BUILD_TIMEOUT
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.perf_counter()))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            now = time.perf_counter()
            if not chunk:
                break
            out += chunk
            buf += chunk
            *lines, buf = re.split(rb"[\r\n]", buf)
            for line in lines:
                m = STEP_RE.match(line)
                if m:
                    stamps.append((int(m.group(1)), now - t0))
        else:
            raise TimeoutError(f"{' '.join(argv)}: no end within {BUILD_TIMEOUT}s")
        rc = p.wait(timeout=max(1.0, deadline - time.perf_counter()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f"{' '.join(argv)}: {rc}: {bytes(out).decode(errors='replace')[-1500:]}")
    steps: dict[int, float] = {}
    for i, (n, t) in enumerate(stamps):
        end = stamps[i + 1][1] if i + 1 < len(stamps) else seconds
        steps[n] = end - t
    if stamps:
        steps[0] = stamps[0][1]  # before step 1: client start, context upload
    return Build(seconds, steps, len(CACHE_RE.findall(bytes(out))), bytes(out))


class Engine:
    """A builder as its CLI is typed: ``build`` arguments, and how to make the next build
    cold (remove the image and every intermediate image the builder caches with)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        build_extra: list[str],
        uncache: list[list[str]],
    ) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.build_extra, self.uncache = build_extra, uncache

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return run([*self.argv, *args], env=self.env, check=check)

    def build(self, ctx: str) -> Build:
        return timed_build(
            [*self.argv, "build", "--network", "none", *self.build_extra, "-t", TAG, ctx], self.env
        )

    def make_cold(self) -> None:
        for args in self.uncache:
            self(*args, check=False)


def make_context(ctx: str) -> None:
    os.makedirs(os.path.join(ctx, "small"))
    with open(os.path.join(ctx, "big.bin"), "wb") as f:
        for _ in range(BIG_MIB):
            f.write(os.urandom(1 << 20))
    for i in range(SMALL_FILES):
        with open(os.path.join(ctx, "small", f"f{i:04d}.txt"), "wb") as f:
            f.write(os.urandom(50).hex().encode())  # 100 bytes
    with open(os.path.join(ctx, "Dockerfile"), "w", encoding="utf-8") as f:
        f.write(DOCKERFILE)


def median_steps(builds: list[Build]) -> dict[int, float]:
    keys = sorted({k for b in builds for k in b.steps})
    return {k: statistics.median([b.steps.get(k, 0.0) for b in builds]) for k in keys}


def step_table(title: str, per_engine: dict[str, dict[int, float]]) -> list[str]:
    names = list(per_engine)
    lines = [
        f"\n{title} (median seconds from a step's line to the next):",
        f"{'step':<44}" + "".join(f"{n:>10}" for n in names),
    ]
    labels = {0: "(client start + context upload)"} | {i + 1: s for i, s in enumerate(STEPS)}
    for k, label in labels.items():
        cells = "".join(
            f"{per_engine[n][k]:>10.3f}" if k in per_engine[n] else f"{'-':>10}" for n in names
        )
        lines.append(f"{k:>2} {label[:41]:<41}{cells}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=3)
    ap.add_argument("--cached", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="berth-bench-build-", dir="/tmp")
    rows: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    forward = run(["iptables", "-S", "FORWARD"], check=False).stdout.decode().splitlines()
    policy = next((line.split()[2] for line in forward if line.startswith("-P FORWARD")), None)
    dockerd = None
    d = None
    engines: list[Engine] = []
    try:
        ctx = os.path.join(tmp, "ctx")
        make_context(ctx)
        notes.append(
            f"context: {BIG_MIB} MiB random big.bin + small/ of {SMALL_FILES} x 100-byte files; Dockerfile of {len(STEPS)} steps"
        )
        tpl = busybox.template(os.path.join(tmp, "tpl"))
        layer = layer_tar(tpl)
        archive = oci_archive(layer, "docker.io/library/busybox:latest")
        d = Berthd.start("bench-build")
        status, _, body = d.request("POST", "/images/load?quiet=1", body=archive)
        assert status == 200, body
        benv = clean_env(BERTH_HOST=d.host)
        saved = os.path.join(tmp, "busybox.tar")
        with open(saved, "wb") as f:
            f.write(run([BERTH, "save", "busybox:latest"], env=benv).stdout)
        engines.append(
            Engine("berth", [BERTH], benv, [], [["rmi", "-f", TAG], ["builder", "prune", "-f"]])
        )
        # a private dockerd as bench/run_latency.py starts one: no bridge, no iptables
        started = start_dockerd(
            tmp, DOCKER,
            [*DOCKERD_NO_NETWORK, "--containerd-namespace", "berth-bench-b", "--containerd-plugins-namespace", "berth-bench-bp"],
            env_extra={"DOCKER_BUILDKIT": "0"},
        )  # fmt: skip
        if started:
            dockerd, denv = started
            dk = Engine("docker", [DOCKER or "docker"], denv, [], [["rmi", "-f", TAG]])
            dk("load", "-i", saved)
            engines.append(dk)
            ver = (
                dk("version", "--format", "{{.Client.Version}} / {{.Server.Version}}")
                .stdout.decode()
                .strip()
            )
            notes.append(
                f"docker: CLI {DOCKER} and a private dockerd ({ver}), DOCKER_BUILDKIT=0 (classic builder), --bridge=none"
            )
        if PODMAN:
            proot = os.path.join(tmp, "podman")
            pargv = [PODMAN, "--root", f"{proot}/root", "--runroot", f"{proot}/run", "--runtime", "runc",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "none"]  # fmt: skip
            pm = Engine("podman", pargv, clean_env(), ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000"],
                        [["rmi", "-f", TAG], ["image", "prune", "-f"]])  # fmt: skip
            # the saved image has no history, which buildah refuses to commit on top of
            # ("history lists 0 non-empty layers"): podman imports the same layer instead
            layer_path = os.path.join(tmp, "busybox-layer.tar")
            with open(layer_path, "wb") as f:
                f.write(layer)
            pm("import", "--change", 'CMD ["sh"]', layer_path, "docker.io/library/busybox:latest")
            engines.append(pm)
            ver = pm("version", "--format", "{{.Client.Version}}").stdout.decode().strip()
            notes.append(
                f"podman: {ver} (buildah, --layers), runc, cgroupfs, vfs/overlay as podman picks under a private --root"
            )
        cold: dict[str, list[Build]] = {}
        cached: dict[str, list[Build]] = {}
        for e in engines:
            e.make_cold()
            e.build(ctx)  # warm-up: the page cache, the CLI, the daemon's first build
            cold[e.name], cached[e.name] = [], []
            for _ in range(args.cold):
                e.make_cold()
                b = e.build(ctx)
                if b.cache_hits:
                    raise RuntimeError(
                        f"{e.name}: a cold build used the cache {b.cache_hits} times:\n{b.output.decode()[-1500:]}"
                    )
                cold[e.name].append(b)
            for _ in range(args.cached):
                cached[e.name].append(e.build(ctx))
            e.make_cold()
            rows[f"{e.name}: cold build"] = summary([b.seconds for b in cold[e.name]])
            rows[f"{e.name}: cached rebuild"] = summary([b.seconds for b in cached[e.name]])
            hits = sorted({b.cache_hits for b in cached[e.name]})
            notes.append(
                f"{e.name}: cached rebuilds said 'Using cache' {'/'.join(map(str, hits))} times of {len(STEPS) - 1} steps after FROM"
            )
        med = {
            n: (
                rows[f"{n}: cold build"]["median_ms"] / 1e3,
                rows[f"{n}: cached rebuild"]["median_ms"] / 1e3,
            )
            for n in cold
        }
        table = [
            "",
            f"{'engine':<10}{'cold (s)':>10}{'cached (s)':>12}{'cold berth/x':>14}{'cached berth/x':>16}",
        ]
        for n, (c, k) in med.items():
            rc = f"{med['berth'][0] / c:.2f}" if "berth" in med else "-"
            rk = f"{med['berth'][1] / k:.2f}" if "berth" in med else "-"
            table.append(f"{n:<10}{c:>10.3f}{k:>12.3f}{rc:>14}{rk:>16}")
        table.append("(medians; berth/x = berth's median over that engine's)")
        if "berth" in med:
            bc, bk = med["berth"]
            if "docker" in med:
                ok = "met" if bc <= med["docker"][0] else "NOT met"
                table.append(
                    f"goal cold ≤ docker classic: berth {bc:.3f} s vs docker {med['docker'][0]:.3f} s — {ok}"
                )
            table.append(
                f"goal cached ≤ 0.2 s: berth {bk:.3f} s — {'met' if bk <= 0.2 else 'NOT met'}"
            )
        table += step_table("cold build, per step", {n: median_steps(bs) for n, bs in cold.items()})
        table += step_table(
            "cached rebuild, per step", {n: median_steps(bs) for n, bs in cached.items()}
        )
        print(report("build", rows, "berth: cold build", notes + table))
    finally:
        for e in engines:
            try:
                e.make_cold()
            except Exception:  # best effort: the roots go with tmp
                pass
        if d is not None:
            d.stop()
            d.cleanup()
        if dockerd is not None:
            stop_dockerd(dockerd)
        subprocess.run(
            [
                "sh",
                "-c",
                f"grep {tmp} /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l",
            ],
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)
        if policy:
            now = run(["iptables", "-S", "FORWARD"], check=False).stdout.decode().splitlines()
            if f"-P FORWARD {policy}" not in now:
                run(["iptables", "-P", "FORWARD", policy], check=False)


if __name__ == "__main__":
    main()
