"""Shared pieces of the benchmarks: commands, a private dockerd to compare with, timing,
reporting."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# dockerd arguments for a daemon that touches no host networking: no bridge, no iptables
# rules, no ip_forward / masquerade (containers run with ``--network none``)
DOCKERD_NO_NETWORK = ["--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"]


def run(
    argv: list[str],
    env: dict[str, str] | None = None,
    check: bool = True,
    input: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run a command to its end, output captured; with ``check``, a non-zero exit raises
    ``RuntimeError`` with the tail of its stderr."""
    p = subprocess.run(argv, env=env, capture_output=True, check=False, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {p.returncode}: {p.stderr.decode()[-500:]}")
    return p


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``DOCKER_*`` and ``BERTH_*`` (so no engine is
    pointed anywhere by accident), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    env.update(extra)
    return env


def start_dockerd(
    tmp: str,
    docker: str | None,
    args: list[str],
    env_extra: dict[str, str] | None = None,
    before: Callable[[], None] | None = None,
) -> tuple[subprocess.Popen[bytes], dict[str, str]] | None:
    """A private dockerd (the host's, Debian's 20.10) under ``<tmp>/dockerd``: its own data
    and exec roots, pidfile and socket, its log in ``<tmp>/dockerd/log``. ``args`` come after
    those (the network setup and containerd namespaces of the bench); ``before`` runs just
    before the daemon starts (e.g. to make the bridge it is given).

    Returns the process and the environment for the ``docker`` CLI to talk to it (with
    ``env_extra``) once ``docker version`` answers; None when there is no dockerd or docker
    CLI, or when it does not answer within ~30 s (it is stopped then and its log's tail
    printed to stderr)."""
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not (os.access(dockerd, os.X_OK) and docker):
        return None
    root = os.path.join(tmp, "dockerd")
    os.makedirs(root)
    sock = f"{root}/docker.sock"
    env = clean_env(DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=f"{root}/client", **(env_extra or {}))
    if before is not None:
        before()
    with open(f"{root}/log", "wb") as log:
        proc = subprocess.Popen(
            [dockerd, "--data-root", f"{root}/data", "--exec-root", f"{root}/exec", "--pidfile", f"{root}/pid",
             "-H", f"unix://{sock}", *args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    for _ in range(300):
        if proc.poll() is not None:
            break
        if run([docker, "version"], env=env, check=False).returncode == 0:
            return proc, env
        time.sleep(0.1)
    stop_dockerd(proc)
    with open(f"{root}/log", "rb") as f:
        print(f"dockerd did not start:\n{f.read()[-2000:].decode(errors='replace')}", file=sys.stderr)
    return None


def stop_dockerd(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, up to 30 s to stop (its containers with it), then SIGKILL."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(fn: Callable[[], None], n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "n": len(s),
        "median_ms": statistics.median(s) * 1e3,
        "mean_ms": statistics.fmean(s) * 1e3,
        "p10_ms": s[len(s) // 10] * 1e3,
        "p90_ms": s[(len(s) * 9) // 10] * 1e3,
    }


def report(name: str, rows: dict[str, dict[str, float]], base: str, notes: list[str]) -> str:
    lines = [f"# {name} — {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cpus)", ""]
    lines.append(f"{'case':<34}{'median ms':>11}{'mean ms':>10}{'p90 ms':>9}{'ratio':>8}")
    b = rows.get(base, {}).get("median_ms")
    for k, r in rows.items():
        ratio = f"{r['median_ms'] / b:.2f}" if b else "-"
        lines.append(f"{k:<34}{r['median_ms']:>11.1f}{r['mean_ms']:>10.1f}{r['p90_ms']:>9.1f}{ratio:>8}")
    lines.append(f"\nratio = median / median of '{base}'")
    lines += notes
    text = "\n".join(lines) + "\n"
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return text
