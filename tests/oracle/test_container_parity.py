"""The docker CLI against berthd and against a real dockerd 20.10: same command lines,
same answers.

Each case is a list of docker command lines run in order against both engines (a private
dockerd from ``_engines.dockerd``, whose default runtime is berth-runtime, and a test
berthd); every step's exit code, stdout and stderr are compared after normalising what
legitimately differs between two daemons (ids, generated names, timestamps, the data
roots, the temp dir of bind sources). Containers get ``--network none``: the private
dockerd has no usable bridge networking of ours, and berth's default is none anyway.

Where berth differs on purpose (a documented improvement) or a host fact makes the
answers differ, the case says which field is not compared and why (``EXPECTED``).
Opt-in: ``pytest --oracle -m oracle tests/oracle/test_container_parity.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from berth.testing.berthd import Berthd

from ._engines import IMAGE, Engine, busybox_images, dockerd

__all__ = ["busybox_images", "dockerd"]  # fixtures

pytestmark = [pytest.mark.oracle, pytest.mark.root]

DOCKER = "/usr/local/bin/docker"  # the 28.2 client users have
RUN = ("run", "--network", "none")


@dataclass(frozen=True)
class Target:
    """One engine as the docker CLI sees it: its environment and what to normalise."""

    env: dict[str, str]
    roots: tuple[str, ...]

    def __call__(self, args: list[str]) -> tuple[int, str, str]:
        p = subprocess.run(
            [DOCKER, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def work() -> Iterator[str]:
    """Bind sources, at the same path for both engines."""
    d = tempfile.mkdtemp(prefix="berth-test-parity-")
    os.makedirs(f"{d}/src")
    with open(f"{d}/src/file", "w") as f:
        f.write("from the host\n")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def engines(dockerd: Engine, work: str) -> Iterator[tuple[Target, Target]]:
    """(dockerd, berthd): the berthd holds the very image dockerd has (``docker save`` →
    ``docker load``, same id), under the same name."""
    docker_env = dict(dockerd.env)
    theirs = Target(docker_env, (f"{dockerd.root}/data", dockerd.root))
    d = Berthd.start("parity")
    try:
        ours = Target(
            {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
            | {"DOCKER_HOST": d.host, "DOCKER_CONFIG": f"{d.dir}/client"},
            (d.root, d.dir),
        )
        archive = f"{work}/busybox.tar"
        rc, _, err = theirs(["save", "-o", archive, IMAGE])
        assert rc == 0, err
        rc, _, err = ours(["load", "-i", archive])
        assert rc == 0, err
        yield theirs, ours
    finally:
        d.stop()
        d.cleanup()


_ID = re.compile(r"\b[0-9a-f]{64}\b")
_SHORT_ID = re.compile(r"\b[0-9a-f]{12}\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_AGO = re.compile(
    r"(Less than a second|About a minute|About an hour|\d+ (seconds|minutes|hours))( ago)?"
)


# berthd words OCI runtime failures as Docker >= 23 with runc 1.1 does ("failed to create
# task for container: … unable to start container process: …"); dockerd 20.10 driving
# berth-runtime leaves these links of the chain out. The cause after them is compared.
_OCI_LINKS = (
    "failed to create task for container: ",
    "unable to start container process: ",
    "exec failed: ",
)


def normalise(text: str, t: Target, work: str) -> str:
    for link in _OCI_LINKS:
        text = text.replace(link, "")
    for root in t.roots:
        text = text.replace(root, "<root>")
    text = text.replace(work, "<work>")
    text = _ID.sub("<id>", text)
    text = _SHORT_ID.sub("<id12>", text)
    text = _TIME.sub("<time>", text)
    return _AGO.sub("<ago>", text)


@dataclass(frozen=True)
class Case:
    """Steps run in order on both engines; ``{n}`` is the case's container name, ``{w}``
    the shared work dir. ``skip`` maps a step index to the fields ("rc", "out", "err")
    not compared there, with the reason in EXPECTED."""

    id: str
    steps: tuple[tuple[str, ...], ...]
    skip: tuple[tuple[int, str], ...] = ()


def case(id: str, *steps: tuple[str, ...], skip: tuple[tuple[int, str], ...] = ()) -> Case:
    return Case(id, steps, skip)


B = "busybox-parity"  # placeholder replaced by IMAGE
INSPECT_FIELDS = (
    "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}}",
    "{{.HostConfig.PidsLimit}} {{json .HostConfig.RestartPolicy}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Init}}",
    "{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{json .HostConfig.Tmpfs}} {{json .HostConfig.Binds}}",
    "{{.HostConfig.NetworkMode}} {{.HostConfig.AutoRemove}} {{.HostConfig.Privileged}} {{.HostConfig.ShmSize}}",
    "{{json .HostConfig.Ulimits}} {{json .HostConfig.Sysctls}} {{json .HostConfig.SecurityOpt}} {{json .HostConfig.Devices}}",
    "{{.HostConfig.IpcMode}} {{.HostConfig.PidMode}} {{.HostConfig.UTSMode}} {{.HostConfig.CgroupnsMode}} {{.HostConfig.OomKillDisable}}",
    "{{json .HostConfig.Dns}} {{json .HostConfig.ExtraHosts}} {{.HostConfig.Runtime}} {{json .HostConfig.PortBindings}}",
    "{{json .HostConfig.Mounts}}",
    "{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}} {{.Config.User}}",
    "{{.Config.StopSignal}} {{.Config.StopTimeout}} {{json .Config.Labels}} {{.Config.Tty}} {{.Config.OpenStdin}} {{.Config.Image}}",
    "{{.Config.Hostname}} {{.Config.Domainname}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.AttachStdout}}",
    "{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.Restarting}} {{.State.OOMKilled}} {{.State.Dead}}",
    "{{.State.ExitCode}} {{json .State.Error}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.State.Pid}}",
    "{{.Name}} {{.Path}} {{json .Args}} {{.RestartCount}} {{.Driver}} {{.Platform}} {{.Image}}",
    "{{json .Mounts}}",
)

CASES: list[Case] = [
    # -- good runs -----------------------------------------------------------------------
    case("echo", (*RUN, "--rm", B, "echo", "hello")),
    case(
        "env",
        (
            *RUN,
            "--rm",
            "-e",
            "FOO=bar",
            "-e",
            "EMPTY=",
            B,
            "sh",
            "-c",
            'echo "$FOO|$EMPTY|$HOME|$PATH"',
        ),
    ),
    case("env-all", (*RUN, "--rm", "-e", "FOO=bar", B, "env")),
    case("workdir", (*RUN, "--rm", "-w", "/tmp", B, "pwd")),
    case(
        "workdir-created",
        (*RUN, "--rm", "-w", "/new/dir", B, "sh", "-c", "pwd; ls -ld /new/dir | cut -c1-10"),
    ),
    case("user-uid", (*RUN, "--rm", "-u", "1000:1000", B, "id")),
    case("user-name", (*RUN, "--rm", "-u", "nobody", B, "id")),
    case("user-unknown", (*RUN, "--rm", "-u", "nosuchuser", B, "id")),
    case("user-group-unknown", (*RUN, "--rm", "-u", "0:nosuchgroup", B, "id")),
    case("entrypoint", (*RUN, "--rm", "--entrypoint", "/bin/echo", B, "hi", "there")),
    case("entrypoint-empty", (*RUN, "--rm", "--entrypoint", "", B, "echo", "x")),
    case("read-only", (*RUN, "--rm", "--read-only", B, "touch", "/x")),
    case("read-only-tmp", (*RUN, "--rm", "--read-only", B, "sh", "-c", "touch /tmp/x && echo ok")),
    case(
        "tmpfs",
        (*RUN, "--rm", "--tmpfs", "/data:size=1m", B, "sh", "-c", "grep ' /data ' /proc/mounts"),
    ),
    case(
        "tmpfs-default",
        (*RUN, "--rm", "--tmpfs", "/data", B, "sh", "-c", "grep ' /data ' /proc/mounts"),
    ),
    case(
        "bind-ro",
        (*RUN, "--rm", "-v", "{w}/src:/src:ro", B, "sh", "-c", "cat /src/file; touch /src/y"),
    ),
    case(
        "bind-rw",
        (
            *RUN,
            "--rm",
            "-v",
            "{w}/src:/src",
            B,
            "sh",
            "-c",
            "echo hi > /src/out; cat /src/out; rm /src/out",
        ),
    ),
    case(
        "mount-bind",
        (
            *RUN,
            "--rm",
            "--mount",
            "type=bind,source={w}/src,target=/src,readonly",
            B,
            "cat",
            "/src/file",
        ),
    ),
    case(
        "cap-drop-all",
        (*RUN, "--rm", "--cap-drop", "ALL", B, "sh", "-c", "id; grep Cap /proc/self/status"),
    ),
    case(
        "cap-add",
        (
            *RUN,
            "--rm",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_ADMIN",
            B,
            "grep",
            "CapEff",
            "/proc/self/status",
        ),
    ),
    case("caps-default", (*RUN, "--rm", B, "grep", "Cap", "/proc/self/status")),
    case(
        "pids-limit",
        (*RUN, "--name", "{n}", "--pids-limit", "10", B, "true"),
        ("inspect", "-f", "{{.HostConfig.PidsLimit}}", "{n}"),
    ),
    case(
        "memory",
        (*RUN, "--name", "{n}", "--memory", "64m", B, "true"),
        ("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", "{n}"),
    ),
    case(
        "init", (*RUN, "--rm", "--init", B, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo")
    ),
    case("exit-code", (*RUN, "--rm", B, "sh", "-c", "exit 3")),
    case(
        "restart-values",
        ("create", "--network", "none", "--name", "{n}-a", "--restart", "always", B),
        ("create", "--network", "none", "--name", "{n}-b", "--restart", "unless-stopped", B),
        ("create", "--network", "none", "--name", "{n}-c", "--restart", "on-failure:3", B),
        ("create", "--network", "none", "--name", "{n}-d", "--restart", "no", B),
        (
            "inspect",
            "-f",
            "{{.Name}} {{json .HostConfig.RestartPolicy}}",
            "{n}-a",
            "{n}-b",
            "{n}-c",
            "{n}-d",
        ),
        ("rm", "{n}-a", "{n}-b", "{n}-c", "{n}-d"),
    ),
    case(
        "stop-signal",
        ("create", "--network", "none", "--name", "{n}", "--stop-signal", "SIGUSR1", B),
        ("inspect", "-f", "{{.Config.StopSignal}}", "{n}"),
    ),
    case(
        "exec",
        (*RUN, "-d", "--name", "{n}", B, "sleep", "60"),
        ("exec", "{n}", "echo", "hi"),
        ("exec", "-u", "1000", "{n}", "id"),
        ("exec", "-w", "/tmp", "{n}", "pwd"),
        ("exec", "-e", "A=b", "{n}", "sh", "-c", "echo $A"),
        ("exec", "{n}", "sh", "-c", "exit 4"),
        ("exec", "{n}", "nosuchcmd"),
        ("exec", "{n}", "/etc/passwd"),
        ("exec", "-w", "/nonexistent", "{n}", "pwd"),
        ("exec", "-u", "nosuchuser", "{n}", "id"),
        ("rm", "{n}"),
        ("pause", "{n}"),
        ("exec", "{n}", "true"),
        ("pause", "{n}"),
        ("unpause", "{n}"),
        ("unpause", "{n}"),
        ("kill", "{n}"),
        ("kill", "{n}"),
        ("stop", "{n}"),
        ("pause", "{n}"),
        ("unpause", "{n}"),
        ("exec", "{n}", "true"),
        ("restart", "-t", "0", "{n}"),
        ("kill", "-s", "BOGUS", "{n}"),
        ("kill", "-s", "USR1", "{n}"),
    ),
    case(
        "logs-tail",
        # stdout only: dockerd copies stdout and stderr through two pipes, so how lines of
        # the two interleave in its log is a race
        (*RUN, "--name", "{n}", B, "sh", "-c", "for i in 1 2 3 4 5; do echo $i; done"),
        ("logs", "--tail", "2", "{n}"),
        ("logs", "--tail", "0", "{n}"),
        ("logs", "--tail", "all", "{n}"),
        ("logs", "--tail", "bogus", "{n}"),
    ),
    case("logs-stderr", (*RUN, "--name", "{n}", B, "sh", "-c", "echo err >&2"), ("logs", "{n}")),
    case(
        "inspect-created",
        (
            "create",
            "--network",
            "none",
            "--name",
            "{n}",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "1:2",
            "--memory",
            "32m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "20",
            "--restart",
            "on-failure:2",
            "--read-only",
            "--tmpfs",
            "/run:size=2m",
            "-v",
            "{w}/src:/src:ro",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CHOWN",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "-l",
            "k=v",
            "--ulimit",
            "nofile=100:200",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--security-opt",
            "no-new-privileges",
            "--hostname",
            "h1",
            "--expose",
            "80",
            "--init",
            "--shm-size",
            "8m",
            B,
            "echo",
            "x",
        ),
        *(("inspect", "-f", f, "{n}") for f in INSPECT_FIELDS),
    ),
    case(
        "inspect-ran",
        (
            *RUN,
            "--name",
            "{n}",
            "-v",
            "vol-{n}:/data",
            "--mount",
            "type=tmpfs,target=/t",
            B,
            "sh",
            "-c",
            "exit 2",
        ),
        *(("inspect", "-f", f, "{n}") for f in INSPECT_FIELDS),
        ("rm", "-v", "{n}"),
        ("volume", "rm", "vol-{n}"),
    ),
    case(
        "ps-format",
        (
            "create",
            "--network",
            "none",
            "--name",
            "{n}",
            "-l",
            "a=b",
            "-v",
            "{w}/src:/src",
            B,
            "echo",
            "x",
        ),
        (
            "ps",
            "-a",
            "--filter",
            "name={n}",
            "--format",
            "{{.Names}}|{{.Image}}|{{.Command}}|{{.Status}}|{{.Ports}}|{{.Labels}}|{{.Mounts}}|{{.Networks}}|{{.State}}|{{.Size}}",
        ),
        ("start", "-a", "{n}"),
        (
            "ps",
            "-a",
            "--filter",
            "name={n}",
            "--format",
            "{{.Names}}|{{.Command}}|{{.Status}}|{{.State}}|{{.RunningFor}}",
        ),
        ("ps", "-a", "--filter", "name={n}", "--filter", "status=exited", "--format", "{{.Names}}"),
        ("ps", "-a", "--filter", "name={n}", "--filter", "exited=0", "--format", "{{.Names}}"),
        ("ps", "-a", "--filter", "bogus=1"),
    ),
    # -- bad input -----------------------------------------------------------------------
    case("unknown-image", (*RUN, "--pull", "never", "nosuchimage:1")),
    case("unknown-image-create", ("create", "--pull", "never", "nosuchimage:1")),
    case(
        "unknown-container",
        ("inspect", "nosuchcontainer"),
        ("rm", "nosuchcontainer"),
        ("start", "nosuchcontainer"),
        ("stop", "nosuchcontainer"),
        ("kill", "nosuchcontainer"),
        ("logs", "nosuchcontainer"),
        ("exec", "nosuchcontainer", "true"),
        ("pause", "nosuchcontainer"),
        ("wait", "nosuchcontainer"),
        ("rename", "nosuchcontainer", "x"),
        ("port", "nosuchcontainer"),
        ("top", "nosuchcontainer"),
    ),
    case("unknown-volume", ("volume", "inspect", "nosuchvolume"), ("volume", "rm", "nosuchvolume")),
    case(
        "name-conflict",
        ("create", "--network", "none", "--name", "{n}", B),
        ("create", "--network", "none", "--name", "{n}", B),
        ("rename", "{n}", "{n}"),
    ),
    case("bad-name", ("create", "--network", "none", "--name", "bad/name", B)),
    case("memory-invalid", (*RUN, "--rm", "--memory", "foo", B, "true")),
    case("memory-too-small", (*RUN, "--rm", "--memory", "1k", B, "true")),
    case("memory-swap-small", (*RUN, "--rm", "--memory", "64m", "--memory-swap", "32m", B, "true")),
    case(
        "memory-reservation",
        (*RUN, "--rm", "--memory", "64m", "--memory-reservation", "128m", B, "true"),
    ),
    case("cpus-invalid", (*RUN, "--rm", "--cpus", "abc", B, "true")),
    case("cpus-100", (*RUN, "--rm", "--cpus", "100", B, "true")),
    case("cpus-and-quota", (*RUN, "--rm", "--cpus", "1", "--cpu-quota", "1000", B, "true")),
    case("cpuset-bad", (*RUN, "--rm", "--cpuset-cpus", "1000", B, "true")),
    case("cpuset-syntax", (*RUN, "--rm", "--cpuset-cpus", "a-b", B, "true")),
    case("cpu-shares-neg", (*RUN, "--rm", "--cpu-shares", "-1", B, "true")),
    case("oom-score-adj", (*RUN, "--rm", "--oom-score-adj", "2000", B, "true")),
    case("blkio-weight", (*RUN, "--rm", "--blkio-weight", "5", B, "true")),
    case("restart-invalid", (*RUN, "--rm", "--restart", "bogus", B, "true")),
    case("restart-count", (*RUN, "--rm", "--restart", "on-failure:x", B, "true")),
    case("restart-always-count", ("create", "--network", "none", "--restart", "always:3", B)),
    case("restart-negative", ("create", "--network", "none", "--restart", "on-failure:-1", B)),
    case("restart-with-rm", (*RUN, "--rm", "--restart", "always", B, "true")),
    case("port-invalid", (*RUN, "--rm", "-p", "99999:80", B, "true")),
    case("port-proto", (*RUN, "--rm", "-p", "80/bogus", B, "true")),
    case(
        "mount-missing-source",
        (*RUN, "--rm", "--mount", "type=bind,source=/nonexistent-parity,target=/x", B, "true"),
    ),
    case("mount-bad-type", (*RUN, "--rm", "--mount", "type=bogus,target=/x", B, "true")),
    case("mount-no-target", (*RUN, "--rm", "--mount", "type=volume,source=v", B, "true")),
    case("mount-relative-target", (*RUN, "--rm", "--mount", "type=tmpfs,target=rel", B, "true")),
    case(
        "mount-tmpfs-source", (*RUN, "--rm", "--mount", "type=tmpfs,source=x,target=/x", B, "true")
    ),
    case(
        "mount-dup-target",
        (
            *RUN,
            "--rm",
            "--mount",
            "type=tmpfs,target=/x",
            "--mount",
            "type=tmpfs,target=/x",
            B,
            "true",
        ),
    ),
    case("v-dup-target", (*RUN, "--rm", "-v", "{w}/src:/x", "-v", "{w}/src:/x", B, "true")),
    case("v-relative-target", (*RUN, "--rm", "-v", "{w}/src:rel", B, "true")),
    case("v-bad-mode", (*RUN, "--rm", "-v", "{w}/src:/x:bogus", B, "true")),
    case("v-root-target", (*RUN, "--rm", "-v", "{w}/src:/", B, "true")),
    case("tmpfs-bad-option", (*RUN, "--rm", "--tmpfs", "/x:bogus=1", B, "true")),
    case("cmd-not-found", (*RUN, "--rm", B, "nosuchcmd")),
    case("cmd-not-executable", (*RUN, "--rm", B, "/etc/passwd")),
    case("cmd-is-dir", (*RUN, "--rm", B, "/tmp")),
    case("cmd-abs-missing", (*RUN, "--rm", B, "/no/such")),
    case("no-cmd", (*RUN, "--rm", "--entrypoint", "", B)),
    case("workdir-relative", (*RUN, "--rm", "-w", "rel", B, "pwd")),
    case(
        "rm-running",
        (*RUN, "-d", "--name", "{n}", B, "sleep", "60"),
        ("rm", "{n}"),
        ("start", "{n}"),
        ("rm", "-f", "{n}"),
    ),
    case(
        "stopped-ops",
        ("create", "--network", "none", "--name", "{n}", B, "true"),
        ("stop", "{n}"),
        ("kill", "{n}"),
        ("pause", "{n}"),
        ("unpause", "{n}"),
        ("exec", "{n}", "true"),
        ("top", "{n}"),
        ("start", "{n}"),
        ("wait", "{n}"),
        ("stop", "{n}"),
        ("kill", "{n}"),
        ("pause", "{n}"),
        ("exec", "{n}", "true"),
        ("attach", "{n}"),
    ),
    case("ulimit-invalid", (*RUN, "--rm", "--ulimit", "nofile=abc", B, "true")),
    case("ulimit-unknown", (*RUN, "--rm", "--ulimit", "bogus=1", B, "true")),
    case("ulimit-soft-gt-hard", (*RUN, "--rm", "--ulimit", "nofile=200:100", B, "true")),
    case("cap-add-unknown", (*RUN, "--rm", "--cap-add", "NOSUCH", B, "true")),
    case("cap-drop-unknown", (*RUN, "--rm", "--cap-drop", "NOSUCH", B, "true")),
    case("device-missing", (*RUN, "--rm", "--device", "/nonexistent-parity", B, "true")),
    case("device-bad-perms", (*RUN, "--rm", "--device", "/dev/null:/dev/n:xyz", B, "true")),
    case("security-opt-bad", (*RUN, "--rm", "--security-opt", "bogus", B, "true")),
    case("security-opt-key", (*RUN, "--rm", "--security-opt", "bogus=1", B, "true")),
    case(
        "security-opt-seccomp-missing",
        (*RUN, "--rm", "--security-opt", "seccomp=/nonexistent-parity.json", B, "true"),
    ),
    case(
        "security-opt-nnp-bad",
        (*RUN, "--rm", "--security-opt", "no-new-privileges=maybe", B, "true"),
    ),
    case("sysctl-not-namespaced", (*RUN, "--rm", "--sysctl", "vm.swappiness=1", B, "true")),
    case("sysctl-kernel", (*RUN, "--rm", "--sysctl", "kernel.domainname=x", B, "true")),
    case("sysctl-bad-format", (*RUN, "--rm", "--sysctl", "novalue", B, "true")),
    case("runtime-nosuch", (*RUN, "--rm", "--runtime", "nosuch", B, "true")),
    case("stop-signal-bad", ("create", "--network", "none", "--stop-signal", "BOGUS", B)),
    case("ipc-bad", (*RUN, "--rm", "--ipc", "bogus", B, "true")),
    case("pid-bad", (*RUN, "--rm", "--pid", "container:nosuch", B, "true")),
    case("network-container-missing", ("run", "--rm", "--network", "container:nosuch", B, "true")),
    case("network-unknown", ("run", "--rm", "--network", "nosuchnet", B, "true")),
    case(
        "hostname-with-net-container",
        ("run", "--rm", "--network", "container:x", "-h", "foo", B, "true"),
    ),
    case("shm-size-bad", (*RUN, "--rm", "--shm-size", "bogus", B, "true")),
    case(
        "health-interval",
        (*RUN, "--rm", "--health-cmd", "true", "--health-interval", "1us", B, "true"),
    ),
    case("env-file-missing", (*RUN, "--rm", "--env-file", "/nonexistent-parity", B, "true")),
    case("cidfile-exists", (*RUN, "--rm", "--cidfile", "{w}/src/file", B, "true")),
    case(
        "volume-rm-in-use",
        (*RUN, "--name", "{n}", "-v", "vol-{n}:/d", B, "true"),
        ("volume", "rm", "vol-{n}"),
        ("rm", "-v", "{n}"),
    ),
    case(
        "start-bad-cmd-twice",
        ("create", "--network", "none", "--name", "{n}", B, "nosuchcmd"),
        ("start", "{n}"),
        ("start", "{n}"),
        ("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{json .State.Error}}", "{n}"),
    ),
]

# (case id, step index) → (fields not compared, why): berth's documented improvements
# and facts of the host that the two daemons see differently.
_NEWER = "berth words this as moby >= 23 does (asserted by tests/integration); dockerd 20.10 differs in case or wording"
_GAP = "KNOWN GAP, not fixed yet: "
EXPECTED: dict[tuple[str, int], tuple[str, str]] = {
    ("exec", 6): (
        "rc",
        "moby >= 23 (translateContainerdStartErr) exits 127 for a command not found; 20.10 126",
    ),
    ("exec", 8): (
        "rc",
        "moby >= 23: 127 for 'no such file or directory' (a missing -w); 20.10 126",
    ),
    ("exec", 10): ("err", _NEWER),
    ("exec", 17): ("err", _NEWER),
    ("rm-running", 1): ("err", _NEWER),
    ("stopped-ops", 2): ("err", _NEWER),
    ("stopped-ops", 10): ("err", _NEWER),
    ("ps-format", 6): ("err", _NEWER),
    ("runtime-nosuch", 0): ("err", _NEWER),
    ("ipc-bad", 0): ("err", _NEWER),
    ("inspect-created", 7): (
        "out",
        "host fact: the fixture names dockerd's default runtime 'berth', berthd's is 'berth-runtime'",
    ),
    ("inspect-ran", 7): (
        "out",
        "host fact: the fixture names dockerd's default runtime 'berth', berthd's is 'berth-runtime'",
    ),
    ("ps-format", 1): (
        "out",
        _GAP
        + "the image's virtual size differs (2.06MB vs 1.99MB): berth sizes a layer by the disk its "
        "snapshot uses (so images and system df agree), dockerd by the sum of file sizes",
    ),
    ("blkio-weight", 0): (
        "rc err",
        "host fact: this kernel lacks blkio weight, so dockerd discards it with a warning before "
        "its range check; berthd range-checks first",
    ),
}


def _sorted_mounts(text: str) -> str:
    """dockerd lists .Mounts from a map: in no particular order."""
    try:
        return json.dumps(sorted(json.loads(text), key=lambda m: m["Destination"]))
    except (ValueError, TypeError, KeyError):
        return text


def _names(c: Case) -> list[str]:
    return [f"parity-{c.id}", *(f"parity-{c.id}-{s}" for s in "abcd")]


def _cleanup(t: Target, c: Case) -> None:
    for n in _names(c):
        t(["rm", "-f", "-v", n])
    t(["volume", "rm", "-f", f"vol-parity-{c.id}"])


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_parity(engines: tuple[Target, Target], work: str, c: Case) -> None:
    theirs, ours = engines
    diffs = []
    try:
        for i, step in enumerate(c.steps):
            args = [
                a.replace("{n}", f"parity-{c.id}").replace("{w}", work).replace(B, IMAGE)
                for a in step
            ]
            want = theirs(args)
            got = ours(args)
            skip, _ = EXPECTED.get((c.id, i), ("", ""))
            for field, w, g in zip(("rc", "out", "err"), want, got, strict=True):
                if field in skip:
                    continue
                if field != "rc":
                    w, g = normalise(w, theirs, work), normalise(g, ours, work)
                if field == "out" and "{{json .Mounts}}" in args:
                    w, g = _sorted_mounts(w), _sorted_mounts(g)
                if w != g:
                    diffs.append(
                        f"step {i} `docker {' '.join(args)}` {field}:\n  dockerd: {w!r}\n  berthd:  {g!r}"
                    )
    finally:
        _cleanup(theirs, c)
        _cleanup(ours, c)
    assert not diffs, "\n".join(diffs)
