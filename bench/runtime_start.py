"""bench/runtime_start: create + start + (exit) + delete of a busybox `true` container,
berth-runtime vs runc vs crun, side by side in one run; bare, then confined (default
seccomp profile + memory/pids/cpu limits).

crun 1.8 refuses this hybrid cgroup host, so crun runs in a private mount namespace with
/sys/fs/cgroup/unified unmounted (the script re-runs itself there for crun).

    .venv/bin/python3 bench/runtime_start.py [-n 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import measure, report, summary

from berth.oci.default_spec import default_spec
from berth.testing.bundles import write_config
from berth.testing.busybox import rootfs, template
from berth.testing.runtimes import become_subreaper, find

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTH = os.path.join(REPO, ".venv", "bin", "berth-runtime")


def make_bundle(tmp: str, confined: bool) -> str:
    tdir = template(os.path.join(tmp, "tmpl"))
    b = os.path.join(tmp, "bundle-confined" if confined else "bundle-bare")
    os.makedirs(b)
    rootfs(tdir, os.path.join(b, "rootfs"))
    spec = default_spec(["true"], terminal=False, seccomp=confined)
    spec["root"]["readonly"] = False
    if confined:
        spec["linux"]["resources"] = {
            "devices": [{"allow": False, "access": "rwm"}],
            "memory": {"limit": 256 * 1024 * 1024},
            "pids": {"limit": 100},
            "cpu": {"quota": 50000, "period": 100000, "shares": 512},
        }
    else:
        spec["process"].pop("capabilities", None)
        spec["linux"].pop("resources", None)
    write_config(b, spec)
    return b


def cycle(binary: str, root: str, bundle: str, cid: str) -> None:
    dn = subprocess.DEVNULL
    subprocess.run([binary, "--root", root, "create", "--bundle", bundle, cid], stdin=dn, stdout=dn, check=True)
    subprocess.run([binary, "--root", root, "start", cid], stdin=dn, stdout=dn, check=True)
    # `true` exits at once; delete waits for nothing but the state to read stopped.
    for _ in range(2000):
        r = subprocess.run([binary, "--root", root, "delete", cid], stdin=dn, stdout=dn, stderr=dn, check=False)
        if r.returncode == 0:
            break
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def run_one(name: str, binary: str, bundle: str, n: int) -> list[float]:
    root = tempfile.mkdtemp(prefix=f"bench-{name}-")
    counter = iter(range(10**6))

    def fn() -> None:
        cycle(binary, root, bundle, f"bench-{name}-{next(counter)}")

    try:
        return measure(fn, n)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--only", default="")
    ap.add_argument("--tmp", default="")
    args = ap.parse_args()
    become_subreaper()
    if args.only:  # re-entered inside the private mount namespace
        out = {}
        for confined in (False, True):
            b = os.path.join(args.tmp, "bundle-confined" if confined else "bundle-bare")
            out[f"{args.only} {'confined' if confined else 'bare'}"] = summary(run_one(args.only, find(args.only) or "", b, args.n))
        import json

        print(json.dumps(out))
        return
    tmp = tempfile.mkdtemp(prefix="berth-bench-")
    try:
        bundles = {False: make_bundle(tmp, False), True: make_bundle(tmp, True)}
        rows: dict[str, dict[str, float]] = {}
        peers = [("runc", find("runc")), ("berth-runtime", BERTH)]
        for confined in (False, True):
            for name, binary in peers:
                if binary:
                    rows[f"{name} {'confined' if confined else 'bare'}"] = summary(run_one(name, binary, bundles[confined], args.n))
        notes = []
        if find("crun"):
            script = (
                "umount /sys/fs/cgroup/unified 2>/dev/null; "
                f"exec {sys.executable} {os.path.abspath(__file__)} --only crun -n {args.n} --tmp {tmp}"
            )
            p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], capture_output=True, text=True, check=False)
            if p.returncode == 0:
                import json

                rows.update(json.loads(p.stdout.strip().splitlines()[-1]))
                notes.append("crun ran in a private mount namespace with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses hybrid hosts).")
            else:
                notes.append(f"crun failed: {p.stderr.strip()[-300:]}")
        b = rows.get("berth-runtime bare", {}).get("median_ms")
        c = rows.get("berth-runtime confined", {}).get("median_ms")
        if b and c:
            notes.append(f"berth-runtime confined / bare = {c / b:.2f} (goal ≤ 1.2)")
        print(report("runtime_start", rows, "runc bare", notes))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for top in os.listdir("/sys/fs/cgroup"):
            for d in (f"/sys/fs/cgroup/{top}/berth-bench",):
                if os.path.isdir(d):
                    for sub in os.listdir(d):
                        if os.path.isdir(os.path.join(d, sub)):
                            try:
                                os.rmdir(os.path.join(d, sub))
                            except OSError:
                                pass
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass


if __name__ == "__main__":
    main()
