"""bench/port_publish: throughput through a published port and to the container's address
directly, berth vs docker, side by side in one run.

berth publishes ports with kernel DNAT (nftables, no userland proxy); docker's ``-p`` on
127.0.0.1 goes through its userland proxy (docker-proxy). Per engine, busybox
``httpd -f -p 80 -h /www`` containers with ``--tmpfs /www`` holding a small index.html and a
1 GiB file (in RAM), published as ``-p 127.0.0.1:<port>:80``; then:

- requests/s: ``ab -n 20000 -c 16`` (HTTP/1.0, no keep-alive: a new TCP connection per
  request) on index.html, median of 3 runs;
- bulk MB/s: ``curl`` of the big file, median of 7;

each through ``127.0.0.1:<port>`` (published, one container) and to ``<container ip>:80``
(direct, an identical second container; ``--same-container`` uses one for both), runs
interleaved. The issue's goal:
berth published ≥ 0.95 x direct (docker's proxy reaches ~0.62 x).

Traffic goes only to 127.0.0.1 and to the containers' own addresses. docker is a private
dockerd on a bridge this bench makes (``bbench-dk0``, 10.214.0.1/24) with iptables on; its
chains, the bridge, and the FORWARD policy / sysctls it may touch are put back afterwards.

    .venv/bin/python bench/port_publish.py [--requests 20000] [--size-mib 1024] [--same-container]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import TypedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, clean_env, run, start_dockerd, stop_dockerd

from berth.testing import busybox
from berth.testing.berthd import Berthd
from berth.testing.images import layer_tar, oci_archive

VENV_BIN = os.path.dirname(sys.executable)
BERTH = os.path.join(VENV_BIN, "berth")
DOCKER = next((p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if os.access(p, os.X_OK)), None)
AB = shutil.which("ab")
CURL = shutil.which("curl") or "/usr/bin/curl"

DK_BRIDGE = "bbench-dk0"
DK_CIDR = "10.214.0.1/24"
DK_NET = "10.214.0."
AB_RUNS = 3
CURL_RUNS = 7
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables")


class Row(TypedDict):
    """One engine and case: medians, the runs behind them, ab's failed requests."""

    req_s: float
    req_s_runs: list[float]
    failed: int
    mb_s: float
    mb_s_runs: list[float]
    syn_retrans: int
    paws_timewait: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Engine:
    """One engine's CLI (berth, or docker against the private dockerd)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.cids: list[str] = []
        self.pid = 0  # the last container's

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return run([*self.argv, *args], env=self.env, check=check)

    def start_httpd(self, port: int, size_mib: int) -> str:
        """Run the httpd container; its address on the engine's bridge."""
        script = (
            f"dd if=/dev/zero of=/www/big.tmp bs=1M count={size_mib} 2>/dev/null && mv /www/big.tmp /www/big && "
            "for i in $(seq 8); do echo '<p>berth bench port_publish: a small page of a few hundred bytes.</p>'; done"
            " > /www/index.html && exec httpd -f -p 80 -h /www"
        )
        out = self("run", "-d", "--tmpfs", f"/www:size={size_mib + 16}m", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c", script)
        cid = out.stdout.decode().strip().splitlines()[-1]
        self.cids.append(cid)
        info = json.loads(self("inspect", cid).stdout)[0]
        self.pid = int(info.get("State", {}).get("Pid") or 0)
        nets = info.get("NetworkSettings", {}).get("Networks") or {}
        ips = [n.get("IPAddress") for n in nets.values() if n.get("IPAddress")]
        ip = ips[0] if ips else info.get("NetworkSettings", {}).get("IPAddress", "")
        if not ip:
            raise RuntimeError(f"{self.name}: container {cid[:12]} has no address: {nets}")
        return str(ip)

    def remove(self) -> None:
        if self.cids:
            self("rm", "-f", *self.cids, check=False)
            self.cids = []


def tcpext(pid: int | str = "self") -> dict[str, int]:
    """The TcpExt counters of a process's network namespace (``nstat`` without nstat)."""
    with open(f"/proc/{pid}/net/netstat") as f:
        lines = [ln.split() for ln in f]
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names[:1] == ["TcpExt:"]:
            return {k: int(v) for k, v in zip(names[1:], values[1:], strict=False)}
    return {}


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds * 10)):
        p = run([CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url], check=False, timeout=10)
        if p.stdout == b"200":
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {seconds}s")


def ab(url: str, n: int) -> tuple[float, int]:
    """Requests per second and failed requests of one ``ab -c 16`` run."""
    p = run([AB or "ab", "-q", "-r", "-s", "10", "-n", str(n), "-c", "16", url], timeout=180)
    rps, failed = 0.0, 0
    for line in p.stdout.decode().splitlines():
        if line.startswith("Requests per second:"):
            rps = float(line.split()[3])
        elif line.startswith(("Failed requests:", "Non-2xx responses:")):
            failed += int(line.split()[-1])
    if not rps:
        raise RuntimeError(f"ab {url}: no result:\n{p.stdout.decode()[-800:]}")
    return rps, failed


def bulk(url: str, size: int) -> float | str:
    """MB/s (10^6 bytes) of one download of the big file; what went wrong if curl gave up (a note
    says so: a stalled transfer is a finding, not a reason to lose the run)."""
    argv = [CURL, "-s", "-o", "/dev/null", "--connect-timeout", "10", "--max-time", "30", "-w", "%{size_download} %{time_total}", url]
    p = run(argv, check=False, timeout=60)
    got, secs = [*p.stdout.decode().split(), "0", "0"][:2]
    if p.returncode != 0 or int(got) != size:
        return f"curl exit {p.returncode}, {got} of {size} bytes in {float(secs):.1f}s"
    return int(got) / float(secs) / 1e6


def measure_engine(e: Engine, args: argparse.Namespace, rows: dict[str, Row], notes: list[str]) -> None:
    """Both cases for one engine, runs interleaved (published, direct, published, …) so
    that drift on the machine hits both alike.

    Each case gets its own container unless ``--same-container``. The PAWS column counts
    SYNs the container turned away at a TIME_WAIT socket: what happens when NAT maps two
    client sockets (with their own TCP timestamp offsets) onto one container 4-tuple
    (see berth.network.nft on loopback flows, berth.network.conntrack on stale entries).
    Run the bench twice in a row: a second run reuses the first one's addresses."""
    port = free_port()
    ip = e.start_httpd(port, args.size_mib)
    urls = {"published": f"http://127.0.0.1:{port}", "direct": f"http://{ip}:80"}
    pids = dict.fromkeys(urls, e.pid)
    if not args.same_container:
        ip = e.start_httpd(free_port(), args.size_mib)
        urls["direct"], pids["direct"] = f"http://{ip}:80", e.pid
    for u in urls.values():
        wait_http(f"{u}/index.html")
    size = args.size_mib << 20
    rps: dict[str, list[float]] = {c: [] for c in urls}
    failed = dict.fromkeys(urls, 0)
    mbs: dict[str, list[float]] = {c: [] for c in urls}
    for u in urls.values():
        ab(f"{u}/index.html", 1000)  # warm-up
        bulk(f"{u}/big", size)  # (a failure here shows in the measured runs too)
    # SYNs the host sent again (host-wide: other work counts too), and SYNs the server
    # turned away at a TIME_WAIT socket (PAWS), during each case's ab runs
    syn = dict.fromkeys(urls, 0)
    paws = dict.fromkeys(urls, 0)
    for _ in range(AB_RUNS):
        for case, u in urls.items():
            h0, c0 = tcpext(), tcpext(pids[case])
            r, f = ab(f"{u}/index.html", args.requests)
            h1, c1 = tcpext(), tcpext(pids[case])
            rps[case].append(r)
            failed[case] += f
            syn[case] += h1.get("TCPSynRetrans", 0) - h0.get("TCPSynRetrans", 0)
            paws[case] += c1.get("PAWSTimewait", 0) - c0.get("PAWSTimewait", 0)
    bad: dict[str, list[str]] = {c: [] for c in urls}
    for i in range(CURL_RUNS):
        for case, u in urls.items():
            m = bulk(f"{u}/big", size)
            if isinstance(m, str):
                bad[case].append(f"run {i + 1}: {m}")
            else:
                mbs[case].append(m)
    for case in urls:
        rows[f"{e.name}: {case}"] = Row(
            req_s=statistics.median(rps[case]), req_s_runs=rps[case], failed=failed[case],
            mb_s=statistics.median(mbs[case]) if mbs[case] else 0.0, mb_s_runs=mbs[case],
            syn_retrans=syn[case], paws_timewait=paws[case],
        )  # fmt: skip
        if bad[case]:
            notes.append(f"{e.name} {case}: curl of the big file failed or stalled ({'; '.join(bad[case])})")
        if failed[case]:
            notes.append(f"{e.name} {case}: ab counted {failed[case]} failed / non-2xx requests")
    where = "the same container" if args.same_container else "two identical containers"
    notes.append(f"{e.name}: {urls['published']} and {urls['direct']} ({where})")
    e.remove()


# ---- the private dockerd, and putting the host back the way it was ----------------------


def make_bridge() -> None:
    """The bridge the private dockerd is given (``-b``): its own, since dockerd's --bip
    would make and name its own docker0, which another docker on the host may own; -b and
    --bip are mutually exclusive. ``restore_host`` deletes it."""
    run(["ip", "link", "add", DK_BRIDGE, "type", "bridge"])
    run(["ip", "addr", "add", DK_CIDR, "dev", DK_BRIDGE])
    run(["ip", "link", "set", DK_BRIDGE, "up"])


def host_state() -> dict[str, str]:
    """What dockerd may change on the host: FORWARD policy, two sysctls, iptables tables."""
    state: dict[str, str] = {"tables": run(["nft", "list", "tables"], check=False).stdout.decode()}
    for path in SYSCTLS:
        try:
            with open(path) as f:
                state[path] = f.read().strip()
        except OSError:
            pass
    fwd = run(["iptables", "-S", "FORWARD"], check=False).stdout.decode()
    state["forward"] = "DROP" if "-P FORWARD DROP" in fwd else "ACCEPT"
    return state


def restore_host(before: dict[str, str]) -> None:
    """Take docker's chains and rules out of iptables, put the FORWARD policy and sysctls
    back, delete the bridge; drop iptables' ``ip filter``/``ip nat`` tables if they were
    not there before and are empty now."""
    for table in ("filter", "nat"):
        rules = run(["iptables", "-t", table, "-S"], check=False).stdout.decode().splitlines()
        for r in rules:
            words = shlex.split(r)
            if words[:1] == ["-A"] and not words[1].startswith("DOCKER") and ("DOCKER" in r or DK_BRIDGE in r or DK_NET in r):
                run(["iptables", "-t", table, "-D", *words[1:]], check=False)
        chains = [shlex.split(r)[1] for r in rules if r.startswith("-N DOCKER")]
        for c in chains:
            run(["iptables", "-t", table, "-F", c], check=False)
        for c in chains:
            run(["iptables", "-t", table, "-X", c], check=False)
    want = before.get("forward", "ACCEPT")
    if f"-P FORWARD {want}" not in run(["iptables", "-S", "FORWARD"], check=False).stdout.decode():
        run(["iptables", "-P", "FORWARD", want], check=False)
    for path in SYSCTLS:
        if path in before:
            try:
                with open(path, "w") as f:
                    f.write(before[path] + "\n")
            except OSError:
                pass
    run(["ip", "link", "del", DK_BRIDGE], check=False)
    for table in ("filter", "nat"):
        if f"table ip {table}\n" in before.get("tables", "") + "\n":
            continue
        left = run(["iptables", "-t", table, "-S"], check=False).stdout.decode().splitlines()
        if all(r.startswith("-P ") and r.endswith(" ACCEPT") for r in left):
            run(["nft", "delete", "table", "ip", table], check=False)


# ---- report --------------------------------------------------------------------------


def render(rows: dict[str, Row], notes: list[str]) -> str:
    lines = [f"# port_publish — {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cpus)", ""]
    lines.append(f"{'engine':<10}{'case':<12}{'req/s':>11}{'MB/s':>10}{'SYN rexmit':>12}{'PAWS tw':>9}")
    for k, r in rows.items():
        eng, case = k.split(": ")
        lines.append(f"{eng:<10}{case:<12}{r['req_s']:>11.0f}{r['mb_s']:>10.0f}{r['syn_retrans']:>12}{r['paws_timewait']:>9}")
    lines.append("")
    lines.append(f"{'ratio':<34}{'req/s':>8}{'MB/s':>8}")
    for eng in ("berth", "docker"):
        p, d = rows.get(f"{eng}: published"), rows.get(f"{eng}: direct")
        if p and d and d["req_s"] and d["mb_s"]:
            lines.append(f"{eng + ' published / direct':<34}{p['req_s'] / d['req_s']:>8.2f}{p['mb_s'] / d['mb_s']:>8.2f}")
    b, o = rows.get("berth: published"), rows.get("docker: published")
    if b and o and o["req_s"] and o["mb_s"]:
        lines.append(f"{'berth published / docker published':<34}{b['req_s'] / o['req_s']:>8.2f}{b['mb_s'] / o['mb_s']:>8.2f}")
    lines.append(f"\nreq/s: median of {AB_RUNS} ab runs; MB/s: median of {CURL_RUNS} curl downloads (10^6 bytes/s); runs interleaved")
    lines.append("SYN rexmit: the host's TCPSynRetrans during the ab runs (host-wide); PAWS tw: SYNs the container turned away at a TIME_WAIT socket")
    lines.append("goal: berth published ≥ 0.95 x direct")
    lines += notes
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--same-container", action="store_true", help="both cases against one container")
    args = ap.parse_args()
    if AB is None:
        sys.exit("port_publish: ab is missing: apt-get install -y apache2-utils")
    tmp = tempfile.mkdtemp(prefix="berth-bench-pp-", dir="/tmp")
    rows: dict[str, Row] = {}
    notes: list[str] = [f"{args.requests} requests x 16 concurrent per ab run; {args.size_mib} MiB file on tmpfs"]
    before = host_state()
    dockerd = None
    d = None
    engines: list[Engine] = []
    try:
        tpl = busybox.template(os.path.join(tmp, "tpl"))
        archive = oci_archive(layer_tar(tpl), "docker.io/library/busybox:latest")
        d = Berthd.start("bench-pp")
        status, _, body = d.request("POST", "/images/load?quiet=1", body=archive)
        assert status == 200, body
        bt = Engine("berth", [BERTH], clean_env(BERTH_HOST=d.host))
        engines.append(bt)
        measure_engine(bt, args, rows, notes)
        started = start_dockerd(
            tmp, DOCKER,
            ["--bridge", DK_BRIDGE, "--iptables=true", "--ip6tables=false", "--userland-proxy=true",
             "--containerd-namespace", "berth-bench-pp", "--containerd-plugins-namespace", "berth-bench-pp-p"],
            before=make_bridge,
        )  # fmt: skip
        if started:
            dockerd, denv = started
            saved = os.path.join(tmp, "busybox.tar")
            with open(saved, "wb") as f:
                f.write(run([BERTH, "save", "busybox:latest"], env=bt.env).stdout)
            dk = Engine("docker", [DOCKER or "docker"], denv)
            engines.append(dk)
            dk("load", "-i", saved)
            measure_engine(dk, args, rows, notes)
            notes.append("docker: a private dockerd 20.10 (iptables on, userland proxy on) on its own bridge")
        else:
            notes.append("docker: no dockerd here (or it did not start)")
        text = render(rows, notes)
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, "port_publish.txt"), "w") as f:
            f.write(text)
        with open(os.path.join(RESULTS, "port_publish.json"), "w") as f:
            json.dump(rows, f, indent=2)
        print(text)
    finally:
        for e in engines:
            e.remove()
        if dockerd is not None:
            stop_dockerd(dockerd)
        if d is not None:
            d.stop()
            d.cleanup()
        restore_host(before)
        subprocess.run(["sh", "-c", f"grep {tmp} /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l"], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
