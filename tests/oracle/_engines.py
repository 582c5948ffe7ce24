"""Fixtures and helpers for the oracle tests, which drive berth-runtime from real engines:
a private dockerd (with the containerd it starts itself) and a private containerd driven
by ``ctr``.

Each daemon runs with every path it can be given under its own temp dir, cgroups under
``/berth-test-oracle-<pid>-*``, and no firewall: dockerd gets ``--iptables=false
--ip-forward=false --ip-masq=false`` and a bridge the fixture made. Teardown runs even
when a test fails: it removes the containers, stops the daemon (SIGTERM, then SIGKILL),
kills whatever still names the temp dir (shims, containers' processes in our cgroups),
unmounts what is left under the temp dir, removes the cgroups, the bridge, the temp dir
and the directories the engines make at fixed host paths (``/run/containerd/s``,
``/run/docker/plugins``, ``/opt/containerd``) when they were not there before, and then
checks that the firewall rules and forwarding sysctls are as they were (restoring them and
failing when not).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from berth.testing import images as _images

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTH_RUNTIME = os.path.join(REPO, ".venv", "bin", "berth-runtime")
# Our containerd namespace, cgroup prefix and names: the session-end leak check looks for
# "berth-test" in process command lines (a shim names its namespace) and "berth" in cgroups.
TAG = f"berth-test-oracle-{os.getpid()}"
IMAGE = "berth-busybox:oracle"
CTR_IMAGE = f"docker.io/library/{IMAGE}"

_SYSCTLS = (
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
    "/proc/sys/net/ipv4/conf/all/route_localnet",
    "/proc/sys/net/bridge/bridge-nf-call-iptables",
    "/proc/sys/net/bridge/bridge-nf-call-ip6tables",
)
# Paths dockerd 20.10 and containerd 1.6 use whatever roots they are given (shim sockets,
# plugin sockets, the opt plugin; the trust key unless daemon.json moves it, as we do),
# deepest first.
_FIXED_PATHS = (
    "/run/containerd/s",
    "/run/containerd/fifo",
    f"/run/containerd/runc/{TAG}",
    "/run/containerd/runc",
    "/run/containerd",
    "/run/docker/plugins",
    "/run/docker",
    "/opt/containerd/bin",
    "/opt/containerd/lib",
    "/opt/containerd",
    "/etc/docker/key.json",
)


def need(*binaries: str) -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    found = {}
    for b in binaries:
        path = b if os.path.isabs(b) and os.access(b, os.X_OK) else shutil.which(os.path.basename(b))
        if not path:
            pytest.skip(f"{os.path.basename(b)} is not installed")
        found[os.path.basename(b)] = path
    if not os.access(BERTH_RUNTIME, os.X_OK):
        pytest.skip(f"{BERTH_RUNTIME} is missing: run `bash scripts/install.sh`")
    return found


# -- the host state the engines must leave as they found it ----------------------------


def _firewall() -> dict[str, str]:
    state = {}
    for cmd in (["nft", "list", "ruleset"], ["iptables-save"], ["ip6tables-save"], ["iptables-legacy-save"]):
        if shutil.which(cmd[0]):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
            text = "\n".join(ln for ln in p.stdout.splitlines() if not ln.startswith("#"))
            text = re.sub(r"\[\d+:\d+\]|packets \d+ bytes \d+", "", text)  # counters move
            # berth's own tables (test berthds running beside the engine) are not the engine's
            text = re.sub(r"^table (inet|bridge) berth\S* \{.*?^\}$", "", text, flags=re.M | re.S)
            state[" ".join(cmd)] = text
    for path in _SYSCTLS:
        try:
            with open(path) as f:
                state[path] = f.read().strip()
        except OSError:
            pass
    return state


class HostGuard:
    """What the host looked like before a daemon started; :meth:`restore` puts back what
    changed and says what it was."""

    def __init__(self) -> None:
        self.before = _firewall()
        self.absent = [p for p in _FIXED_PATHS if not os.path.lexists(p)]

    def restore(self) -> list[str]:
        for p in self.absent:
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    os.rmdir(p)  # only when empty: never someone else's files
                elif os.path.lexists(p):
                    os.unlink(p)
            except OSError:
                pass
        after = _firewall()
        changed = [k for k, v in self.before.items() if after.get(k) != v]
        for k in changed:
            if k.startswith("/proc/sys/"):
                with open(k, "w") as f:
                    f.write(self.before[k])
            elif k == "nft list ruleset":
                subprocess.run(["nft", "flush", "ruleset"], timeout=30, check=False)
                subprocess.run(["nft", "-f", "-"], input=self.before[k], text=True, timeout=30, check=False)
        return changed


# -- cleanup of what a daemon leaves -----------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def _procs() -> Iterator[tuple[int, str]]:
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                yield int(name), f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue


def _kill_and_wait(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    pids.discard(pid)
                    continue
            except ChildProcessError:
                pass
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        pids.discard(pid)  # a zombie: its parent (or init) reaps it
            except OSError:
                pids.discard(pid)
        time.sleep(0.05)


def kill_processes_naming(marker: str) -> None:
    """SIGKILL every process whose command line contains ``marker`` (our unique temp dir
    or namespace: shims, a daemon that did not stop) and wait for them."""
    _kill_and_wait({pid for pid, cmd in _procs() if marker in cmd})


def unmount_under(prefix: str) -> None:
    """Lazily unmount every mount point under ``prefix``, deepest first."""
    for _ in range(5):
        with open("/proc/self/mountinfo") as f:
            points = [ln.split()[4] for ln in f if ln.split()[4].startswith(prefix + "/")]
        if not points:
            return
        for mp in sorted(set(points), key=len, reverse=True):
            _libc.umount2(mp.encode(), MNT_DETACH)


def _cgroup_bases() -> list[str]:
    root = "/sys/fs/cgroup"
    if os.path.exists(f"{root}/cgroup.controllers"):
        return [root]
    return [f"{root}/{d}" for d in os.listdir(root) if os.path.isdir(f"{root}/{d}") and not os.path.islink(f"{root}/{d}")]


def cgroup_dirs(relative: str) -> list[str]:
    """The directories of cgroup ``relative`` (``/a/b``) that exist, in every hierarchy."""
    return [d for d in (base + relative for base in _cgroup_bases()) if os.path.isdir(d)]


def memory_limit(relative: str) -> int:
    """The memory limit of cgroup ``relative`` as the kernel reports it (v1 or v2)."""
    for path in (f"/sys/fs/cgroup/memory{relative}/memory.limit_in_bytes", f"/sys/fs/cgroup{relative}/memory.max"):
        if os.path.exists(path):
            with open(path) as f:
                text = f.read().strip()
            return -1 if text == "max" else int(text)
    raise AssertionError(f"no memory cgroup {relative!r}")


def remove_cgroups(prefix: str) -> None:
    """Kill what is still in cgroups whose top directory starts with ``prefix``, then
    remove them deepest first."""
    tops = [f"{base}/{d}" for base in _cgroup_bases() for d in os.listdir(base) if d.startswith(prefix)]
    pids: set[int] = set()
    for top in tops:
        for dirpath, _, files in os.walk(top):
            if "cgroup.procs" in files:
                with open(f"{dirpath}/cgroup.procs") as f:
                    pids |= {int(p) for p in f.read().split()}
    _kill_and_wait(pids)
    for top in tops:
        for dirpath, _, _ in sorted(os.walk(top, topdown=False), key=lambda w: -len(w[0])):
            for _ in range(50):
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


# -- daemons -----------------------------------------------------------------------------


class Daemon:
    """One daemon process with its log file."""

    def __init__(self, argv: list[str], log_path: str) -> None:
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, n: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Engine:
    """A running daemon and its client: ``self(*args)`` runs the client. ``subnet`` and
    ``bridge`` (dockerd): the default bridge network; ``run_flags`` (ctr): what points
    the runc shim at berth-runtime and keeps its state and fifos under our root."""

    subnet = ""
    bridge = ""
    run_flags: list[str] = []

    def __init__(self, client: list[str], env: dict[str, str], root: str, daemon: Daemon) -> None:
        self.client = client
        self.env = env
        self.root = root
        self.daemon = daemon

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60, expect: int | None = 0
    ) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(
            [*self.client, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
        )
        if expect is not None and p.returncode != expect:
            raise AssertionError(
                f"{' '.join(args)}: exit {p.returncode}, expected {expect}\nstdout: {p.stdout}\nstderr: {p.stderr}\n"
                f"daemon log:\n{self.daemon.log_tail()}"
            )
        return p

    def wait_ready(self, *probe: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.daemon.check_alive()
            if self(*probe, timeout=10, expect=None).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.daemon.argv[0]} not ready after {timeout}s:\n{self.daemon.log_tail()}")
            time.sleep(0.1)


def _client_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "CONTAINERD_"))}
    env.update(extra)
    return env


def _free_subnet() -> str:
    """A /24 in 10.0.0.0/8 that no address or route on the host uses ("10.a.b")."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False).stdout
    used += subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=False).stdout
    pid = os.getpid()
    for i in range(200):
        net = f"10.{200 + (pid + i) % 50}.{(pid // 50 + i) % 250}"
        if f"{net}." not in used:
            return net
    pytest.skip("no free 10.x.y.0/24 subnet for the test bridge")


# -- images ------------------------------------------------------------------------------


layer_tar = _images.layer_tar
_layer_tar = layer_tar
_oci_archive = _images.oci_archive


@pytest.fixture(scope="session")
def busybox_images(busybox_template: str) -> Iterator[dict[str, str]]:
    """``rootfs``: a tar of the busybox rootfs (for ``docker import``); ``oci``: the same
    as an OCI image archive (for ``ctr images import``)."""
    d = tempfile.mkdtemp(prefix="berth-test-oracle-img-")
    try:
        layer = _layer_tar(busybox_template)
        paths = {"rootfs": os.path.join(d, "rootfs.tar"), "oci": os.path.join(d, "busybox-oci.tar")}
        with open(paths["rootfs"], "wb") as f:
            f.write(layer)
        with open(paths["oci"], "wb") as f:
            f.write(_oci_archive(layer, CTR_IMAGE))
        yield paths
    finally:
        shutil.rmtree(d, ignore_errors=True)


def remove_shim_sockets(grpc_address: str, state: str) -> None:
    """containerd 1.6 puts each shim's socket at /run/containerd/s/<sha256 of
    "<grpc address>/<namespace>/<id>">, whatever its state dir; a killed shim leaves it."""
    task_dir = f"{state}/io.containerd.runtime.v2.task/{TAG}"
    ids = os.listdir(task_dir) if os.path.isdir(task_dir) else []
    for cid in ids:
        digest = hashlib.sha256(f"{grpc_address}/{TAG}/{cid}".encode()).hexdigest()
        try:
            os.unlink(f"/run/containerd/s/{digest}")
        except OSError:
            pass


def _teardown(root: str, guard: HostGuard, daemon: Daemon | None, links: list[str], containerd: tuple[str, str]) -> None:
    if daemon is not None:
        daemon.stop()
    kill_processes_naming(root)
    kill_processes_naming(f"-namespace {TAG}")
    remove_shim_sockets(*containerd)
    remove_cgroups(TAG)
    unmount_under(root)
    for link in links:
        subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=30, check=False)
    shutil.rmtree(root, ignore_errors=True)
    changed = guard.restore()
    assert not changed, f"the engine changed host firewall state (restored): {changed}"


# -- dockerd -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerd(busybox_images: dict[str, str]) -> Iterator[Engine]:
    """dockerd 20.10 with berth-runtime added as ``berth`` (``--add-runtime``, also the
    default runtime) and as ``berth-json`` (daemon.json ``runtimes``), its own containerd,
    a bridge of ours (``.subnet``, ``.bridge``) and no iptables; the busybox image
    imported as IMAGE. Tests pass ``--pull never``: no registry is reachable, and a pull
    would send traffic off the machine."""
    tools = need("/usr/sbin/dockerd", "docker", "ip")
    client = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else tools["docker"]
    root = tempfile.mkdtemp(prefix="berth-test-oracle-dockerd-")
    guard = HostGuard()
    bridge = f"berth-o{os.getpid() % 100000}"
    daemon = None
    try:
        subnet = _free_subnet()
        for cmd in (
            ["ip", "link", "add", bridge, "type", "bridge"],
            ["ip", "addr", "add", f"{subnet}.1/24", "dev", bridge],
            ["ip", "link", "set", bridge, "up"],
        ):
            subprocess.run(cmd, check=True, capture_output=True, timeout=30)
        with open(f"{root}/daemon.json", "w") as f:
            json.dump({"deprecated-key-path": f"{root}/key.json", "runtimes": {"berth-json": {"path": BERTH_RUNTIME}}}, f)
        sock = f"{root}/docker.sock"
        daemon = Daemon(
            [
                tools["dockerd"],
                "--config-file", f"{root}/daemon.json",
                "--data-root", f"{root}/data",
                "--exec-root", f"{root}/exec",
                "--pidfile", f"{root}/docker.pid",
                "-H", f"unix://{sock}",
                "--bridge", bridge,
                "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
                "--exec-opt", "native.cgroupdriver=cgroupfs",
                "--cgroup-parent", f"/{TAG}-dockerd",
                "--containerd-namespace", TAG,
                "--containerd-plugins-namespace", f"{TAG}-plugins",
                "--add-runtime", f"berth={BERTH_RUNTIME}",
                "--default-runtime", "berth",
            ],
            f"{root}/dockerd.log",
        )  # fmt: skip
        engine = Engine([client], _client_env(DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=f"{root}/client"), root, daemon)
        engine.subnet, engine.bridge = subnet, bridge
        engine.wait_ready("version")
        engine("import", "--change", 'CMD ["sh"]', busybox_images["rootfs"], IMAGE)
        yield engine
    finally:
        try:
            if daemon is not None and daemon.proc.poll() is None:
                env = _client_env(DOCKER_HOST=f"unix://{root}/docker.sock", DOCKER_CONFIG=f"{root}/client")
                ids = subprocess.run([client, "ps", "-aq"], capture_output=True, text=True, env=env, timeout=60, check=False).stdout.split()
                if ids:
                    subprocess.run([client, "rm", "-f", *ids], capture_output=True, env=env, timeout=120, check=False)
        finally:
            _teardown(root, guard, daemon, [bridge], (f"{root}/exec/containerd/containerd.sock", f"{root}/exec/containerd/daemon"))


# -- containerd --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def containerd(busybox_images: dict[str, str]) -> Iterator[Engine]:
    """containerd 1.6 (cri off) in namespace TAG; the client is ``ctr``; the busybox image
    imported as CTR_IMAGE. ``run_flags`` point the runc shim at berth-runtime."""
    tools = need("containerd", "ctr", "containerd-shim-runc-v2")
    root = tempfile.mkdtemp(prefix="berth-test-oracle-containerd-")
    guard = HostGuard()
    daemon = None
    try:
        sock = f"{root}/containerd.sock"
        with open(f"{root}/config.toml", "w") as f:
            f.write(
                "version = 2\n"
                f'root = "{root}/root"\n'
                f'state = "{root}/state"\n'
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                f'[grpc]\n  address = "{sock}"\n'
                f'[ttrpc]\n  address = "{sock}.ttrpc"\n'
                '[debug]\n  address = ""\n'
                f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{root}/opt"\n'
            )
        daemon = Daemon([tools["containerd"], "--config", f"{root}/config.toml"], f"{root}/containerd.log")
        engine = Engine([tools["ctr"], "--address", sock, "--namespace", TAG], _client_env(), root, daemon)
        engine.run_flags = [
            "--runc-binary", BERTH_RUNTIME,
            "--runc-root", f"{root}/runc",
            "--fifo-dir", f"{root}/fifo",
        ]  # fmt: skip
        engine.wait_ready("version")
        engine("images", "import", busybox_images["oci"])
        yield engine
    finally:
        try:
            if daemon is not None and daemon.proc.poll() is None:
                ctr = [tools["ctr"], "--address", f"{root}/containerd.sock", "--namespace", TAG]
                for cid in subprocess.run([*ctr, "tasks", "ls", "-q"], capture_output=True, text=True, timeout=60, check=False).stdout.split():
                    subprocess.run([*ctr, "tasks", "rm", "-f", cid], capture_output=True, timeout=60, check=False)
                for cid in subprocess.run([*ctr, "containers", "ls", "-q"], capture_output=True, text=True, timeout=60, check=False).stdout.split():
                    subprocess.run([*ctr, "containers", "rm", cid], capture_output=True, timeout=60, check=False)
        finally:
            _teardown(root, guard, daemon, [], (f"{root}/containerd.sock", f"{root}/state"))
