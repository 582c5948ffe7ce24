"""`make demo`: berth's main job as far as it goes today.

1. berth-runtime: build a busybox bundle on this machine and run a container in it,
   showing what makes it a container: its own hostname, PID 1, its own mounts, its cgroup
   and limits, its capabilities and seccomp filter.
2. berthd and images: start a local registry (Debian's docker-registry on 127.0.0.1) and
   berthd; with the berth CLI import the busybox rootfs as an image, push it to the
   registry, remove it, pull it back, list and inspect it, show `system df`.
3. build, containers and networks: `berth build` the web server image from
   demo/web/Dockerfile, `berth run` it (busybox httpd) with a named volume on a network of
   its own, its port published with -p; fetch the page with curl on the host and by name
   from a second container; `port`, `ps`, `logs`, `exec`, `stop`, `rm`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "src"))

from berth.oci.default_spec import default_spec  # noqa: E402
from berth.testing.bundles import write_config  # noqa: E402
from berth.testing.busybox import rootfs, template  # noqa: E402

RUNTIME = os.path.join(HERE, ".venv", "bin", "berth-runtime")

SCRIPT = r"""
echo "hostname:      $(hostname)"
echo "my pid:        $$  (PID 1 of its own pid namespace)"
echo "processes:     $(ps -o pid,comm | tail -n +2 | tr -s ' ' | tr '\n' ';')"
echo "network:       $(ls /sys/class/net | tr '\n' ' ')(a network namespace of its own)"
echo "memory limit:  $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) bytes"
echo "pids limit:    $(cat /sys/fs/cgroup/pids/pids.max)"
echo "cgroup:        $(grep memory /proc/self/cgroup)"
echo "capabilities:  $(grep CapEff /proc/self/status)"
echo "seccomp:       $(grep Seccomp: /proc/self/status) (2 = filtered)"
echo "mounts:"
cut -d' ' -f1-4 /proc/self/mounts | sed 's/^/    /'
echo "try mount:     $(mount -t tmpfs none /mnt 2>&1 || true)"
echo "root writable? $(touch /x 2>&1 || true)"
"""


def busybox_tar(tdir: str, path: str) -> None:
    """The busybox rootfs as a tarball, for `berth import`."""
    import tarfile

    with tarfile.open(path, "w") as tf:
        for name in sorted(os.listdir(tdir)):
            if not name.startswith("."):
                tf.add(os.path.join(tdir, name), arcname=name)


def images_demo(tdir: str, tmp: str) -> int:
    from berth.testing.berthd import Berthd
    from berth.testing.registry import REGISTRY, registry_process

    if REGISTRY is None:
        print("(skipping the image part: docker-registry is not installed)")
        return 0
    berth = os.path.join(HERE, ".venv", "bin", "berth")
    with registry_process(os.path.join(tmp, "registry")) as reg:
        ref = f"{reg.host}/demo/busybox:latest"
        tar = os.path.join(tmp, "busybox.tar")
        busybox_tar(tdir, tar)
        print(f"\n--- a local registry answers on {reg.host}")
        daemon = Berthd.start("demo")
        try:
            print(f"--- berthd answers on {daemon.host} (started in {daemon.startup_seconds * 1000:.0f} ms)\n")
            env = dict(os.environ, BERTH_HOST=daemon.host, HOME=tmp)
            for cmd in (
                ["version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}, API {{.Server.APIVersion}}"],
                ["import", "-c", "CMD [\"sh\"]", "-m", "busybox-static from Debian", tar, ref],
                ["push", ref],
                ["rmi", ref],
                ["pull", ref],
                ["images"],
                ["image", "inspect", "--format", "{{.Id}} layers={{len .RootFS.Layers}} cmd={{json .Config.Cmd}}", ref],
                ["system", "df"],
            ):
                print("$ berth " + " ".join(c if " " not in c and '"' not in c else repr(c) for c in cmd))
                p = subprocess.run([berth, *cmd], env=env, check=False)
                if p.returncode != 0:
                    return p.returncode
                print()
            status = containers_demo(berth, env, ref)
            if status != 0:
                return status
            print("$ berth rmi " + ref)
            return subprocess.run([berth, "rmi", ref], env=env, check=False).returncode
        finally:
            daemon.stop()
            daemon.cleanup()
    return 0


def containers_demo(berth: str, env: dict[str, str], ref: str) -> int:
    """A busybox web server with a volume on a network of its own, its port published:
    run, fetch the page with curl, reach it by name from a second container, ps, logs,
    exec, stop, rm."""
    import time

    from berth.testing.registry import free_port

    port = free_port()
    web = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo", "web")

    def show(*cmd: str) -> int:
        print("$ berth " + " ".join(c if " " not in c else repr(c) for c in cmd))
        code = subprocess.run([berth, *cmd], env=env, check=False).returncode
        print()
        return code

    if show("build", "-t", "demo-web", "--build-arg", f"BASE={ref}", web) != 0:
        return 1
    if show("network", "create", "demo-net") != 0:
        return 1
    try:
        if show("run", "-d", "--name", "web", "--init", "--network", "demo-net", "-p", f"{port}:80",
                "-v", "demo-www:/www", "--memory", "64m", "demo-web") != 0:  # fmt: skip
            return 1
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):  # the server may still be starting
            p = subprocess.run(["curl", "-fsS", "-m", "2", url], capture_output=True, text=True, check=False)
            if p.returncode == 0:
                break
            time.sleep(0.05)
        else:
            print(f"no answer on {url}: {p.stderr}")
            return 1
        print(f"$ curl {url}\n{p.stdout}")
        get = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc web 80 | tail -1"
        for cmd in (["port", "web"],
                    ["run", "--rm", "--network", "demo-net", ref, "sh", "-c", get],
                    ["ps"], ["logs", "web"], ["exec", "web", "ls", "-l", "/www"],
                    ["inspect", "--format", "{{.State.Status}} ip={{.NetworkSettings.Networks.demo-net.IPAddress}} "
                     "memory={{.HostConfig.Memory}}", "web"],
                    ["network", "ls"], ["stop", "web"], ["ps", "-a"]):  # fmt: skip
            if show(*cmd) != 0:
                return 1
    finally:
        subprocess.run([berth, "rm", "-f", "web"], env=env, check=False, capture_output=True)
        subprocess.run([berth, "network", "rm", "demo-net"], env=env, check=False, capture_output=True)
        subprocess.run([berth, "rmi", "demo-web"], env=env, check=False, capture_output=True)
        subprocess.run([berth, "builder", "prune", "-f"], env=env, check=False, capture_output=True)
    return show("volume", "rm", "demo-www")


def main() -> int:
    if os.geteuid() != 0:
        print("make demo needs root (namespaces, mounts, cgroups)", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="berth-demo-")
    try:
        tdir = template(os.path.join(tmp, "template"))
        bundle = os.path.join(tmp, "bundle")
        os.makedirs(bundle)
        rootfs(tdir, os.path.join(bundle, "rootfs"))
        spec = default_spec(["sh", "-c", SCRIPT], terminal=False)
        spec["hostname"] = "berth-demo"
        spec["linux"]["cgroupsPath"] = "/berth-demo"
        spec["linux"]["resources"].update({"memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 64}})
        write_config(bundle, spec)
        print(f"$ berth-runtime run --bundle {bundle} berth-demo\n")
        p = subprocess.run([RUNTIME, "--root", os.path.join(tmp, "state"), "run", "--bundle", bundle, "berth-demo"], check=False)
        print(f"\nexit status {p.returncode}; the container, its mounts and its cgroup are gone again.")
        if p.returncode != 0:
            return p.returncode
        return images_demo(tdir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
