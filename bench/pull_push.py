"""bench/pull_push: pull and push of a 200 MiB image (4 layers of 50 MiB, incompressible)
against a local registry (Debian's docker-registry on 127.0.0.1), berth vs skopeo vs
docker, side by side in one run.

What each case measures:
- berth pull (client): berth's registry client fetching manifest, config and the four
  layers in parallel into a fresh content store, every byte digest-verified, no unpack;
- berth pull (berthd): ``berth pull`` against a berthd: fetch, verify, extract each layer
  into its snapshot, record the name — what docker pull does (``berth rmi`` between runs);
- skopeo pull: ``skopeo copy docker://… dir:…`` (fetch + verify, no unpack);
- docker pull: a private dockerd 20.10 pulling (fetch + verify + extract into overlay2);
- push (mount): to a fresh repository of the registry the image came from: docker and
  skopeo remember where each blob came from and mount it across repositories; berth is
  given the source repository the same way (``mount_from``);
- push (upload): to a new, empty registry each time (started outside the timing), so
  every byte is uploaded and no tool can mount.

    .venv/bin/python3 bench/pull_push.py [-n 3]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import report, summary

from berth.content import LocalStore, write_blob
from berth.oci import mediatypes as mt
from berth.oci.digest import sha256_of
from berth.oci.image import Descriptor, canonical_json
from berth.oci.reference import parse_docker_ref
from berth.registry import Client, CredentialStore, RegistryHosts
from berth.testing.registry import layer_tar, registry_process

LAYERS = 4
LAYER_MIB = 50


def build_image(store: LocalStore) -> Descriptor:
    ldescs, diff_ids = [], []
    for i in range(LAYERS):
        raw = layer_tar({f"data/blob{i}": os.urandom(LAYER_MIB << 20)})
        blob = gzip.compress(raw, compresslevel=1, mtime=0)
        d = Descriptor(mt.DOCKER_LAYER_GZIP, sha256_of(blob), len(blob))
        write_blob(store, f"b-{d.digest}", blob, size=d.size, expected=d.digest)
        ldescs.append(d)
        diff_ids.append(str(sha256_of(raw)))
    config = canonical_json({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })  # fmt: skip
    cdesc = Descriptor(mt.DOCKER_CONFIG, sha256_of(config), len(config))
    write_blob(store, f"b-{cdesc.digest}", config, size=cdesc.size, expected=cdesc.digest)
    manifest = canonical_json({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST, "config": cdesc.to_dict(), "layers": [d.to_dict() for d in ldescs]})
    mdesc = Descriptor(mt.DOCKER_MANIFEST, sha256_of(manifest), len(manifest))
    write_blob(store, f"b-{mdesc.digest}", manifest, size=mdesc.size, expected=mdesc.digest)
    return mdesc


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="berth-bench-pp-")
    rows: dict[str, dict[str, float]] = {}
    notes: list[str] = [f"image: {LAYERS} layers x {LAYER_MIB} MiB random data, gzip level 1"]
    dockerd = None
    try:
        with registry_process(os.path.join(tmp, "registry")) as reg:
            creds = os.path.join(tmp, "creds.json")
            client = Client(hosts=RegistryHosts(certs_dir="/nonexistent"), credentials=CredentialStore(creds, [creds]))
            src = LocalStore(os.path.join(tmp, "src"))
            mdesc = build_image(src)
            base = f"{reg.host}/bench/img"
            client.push(parse_docker_ref(base + ":v1"), src, mdesc)
            counter = iter(range(10**6))

            def berth_pull() -> None:
                d = os.path.join(tmp, f"pull-{next(counter)}")
                client.pull(parse_docker_ref(base + ":v1"), LocalStore(d))
                shutil.rmtree(d)

            def berth_push() -> None:
                client.push(parse_docker_ref(f"{reg.host}/bench/berth{next(counter)}:v1"), src, mdesc, mount_from=["bench/img"])

            def berth_upload(host: str) -> None:
                client.push(parse_docker_ref(f"{host}/bench/berth:v1"), src, mdesc)

            def cold(fn: Callable[[str], None]) -> list[float]:
                out = []
                for _i in range(args.n):
                    with registry_process(os.path.join(tmp, f"cold-{next(counter)}")) as fresh:
                        out.append(timed(lambda: fn(fresh.host)))
                return out

            rows["berth pull"] = summary([timed(berth_pull) for _ in range(args.n)])
            from berth.testing.berthd import Berthd

            daemon = Berthd.start("bench-pull")
            try:
                berth_cli = os.path.join(os.path.dirname(sys.executable), "berth")
                benv = dict(os.environ, BERTH_HOST=daemon.host)

                def berthd_pull() -> None:
                    subprocess.run([berth_cli, "pull", "-q", f"{base}:v1"], env=benv, check=True, capture_output=True)

                def berthd_rmi() -> None:
                    subprocess.run([berth_cli, "rmi", f"{base}:v1"], env=benv, check=True, capture_output=True)

                samples = []
                for _ in range(args.n):
                    samples.append(timed(berthd_pull))
                    berthd_rmi()
                rows["berth pull (berthd)"] = summary(samples)
            finally:
                daemon.stop()
                daemon.cleanup()
            rows["berth push (mount)"] = summary([timed(berth_push) for _ in range(args.n)])
            rows["berth push (upload)"] = summary(cold(berth_upload))
            skopeo = shutil.which("skopeo")
            if skopeo:
                dirs = os.path.join(tmp, "skopeo-dir")

                def sk_pull() -> None:
                    shutil.rmtree(dirs, ignore_errors=True)
                    subprocess.run([skopeo, "copy", "-q", "--src-tls-verify=false", f"docker://{base}:v1", f"dir:{dirs}"], check=True)

                def sk_push(host: str) -> None:
                    subprocess.run([skopeo, "copy", "-q", "--dest-tls-verify=false", f"dir:{dirs}", f"docker://{host}/bench/skopeo{next(counter)}:v1"], check=True)

                rows["skopeo pull"] = summary([timed(sk_pull) for _ in range(args.n)])
                rows["skopeo push (mount)"] = summary([timed(lambda: sk_push(reg.host)) for _ in range(args.n)])
                rows["skopeo push (upload)"] = summary(cold(sk_push))
            dockerd_bin = shutil.which("dockerd") or "/usr/sbin/dockerd"
            docker = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")
            if os.access(dockerd_bin, os.X_OK) and docker:
                droot = os.path.join(tmp, "dockerd")
                os.makedirs(droot)
                sock = f"{droot}/docker.sock"
                env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
                env.update(DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=f"{droot}/client")
                log = open(f"{droot}/log", "wb")
                dockerd = subprocess.Popen(
                    [dockerd_bin, "--data-root", f"{droot}/data", "--exec-root", f"{droot}/exec", "--pidfile", f"{droot}/pid",
                     "-H", f"unix://{sock}", "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                     "--ip-masq=false", "--containerd-namespace", "berth-bench", "--containerd-plugins-namespace", "berth-bench-p"],
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
                for _ in range(300):
                    if subprocess.run([docker, "version"], env=env, capture_output=True, check=False).returncode == 0:
                        break
                    time.sleep(0.1)

                def d(*a: str) -> None:
                    subprocess.run([docker, *a], env=env, check=True, capture_output=True)

                def dk_pull() -> None:
                    subprocess.run([docker, "rmi", "-f", f"{base}:v1"], env=env, capture_output=True, check=False)
                    d("pull", "-q", f"{base}:v1")

                def dk_push(host: str) -> None:
                    tag = f"{host}/bench/docker{next(counter)}:v1"
                    d("tag", f"{base}:v1", tag)
                    d("push", "-q", tag)

                rows["docker pull"] = summary([timed(dk_pull) for _ in range(args.n)])
                rows["docker push (mount)"] = summary([timed(lambda: dk_push(reg.host)) for _ in range(args.n)])
                rows["docker push (upload)"] = summary(cold(dk_push))
                notes.append("docker: a private dockerd 20.10 (no bridge, no iptables); its pull also extracts the layers")
            b, bd, s, k = (rows.get(x, {}).get("median_ms") for x in ("berth pull", "berth pull (berthd)", "skopeo pull", "docker pull"))
            if b and s:
                notes.append(f"pull: skopeo / berth client = {s / b:.2f} (goal ≥ 1)")
            if bd and k:
                notes.append(f"pull with extraction: docker / berthd = {k / bd:.2f} (skopeo / berthd = {s / bd:.2f})" if s else f"pull with extraction: docker / berthd = {k / bd:.2f}")
            for kind in ("mount", "upload"):
                bp = rows.get(f"berth push ({kind})", {}).get("median_ms")
                dp = rows.get(f"docker push ({kind})", {}).get("median_ms")
                sp = rows.get(f"skopeo push ({kind})", {}).get("median_ms")
                if bp and dp:
                    notes.append(f"push ({kind}): docker / berth = {dp / bp:.2f} (goal ≥ 2)" + (f", skopeo / berth = {sp / bp:.2f}" if sp else ""))
            print(report("pull_push", rows, "berth pull", notes))
    finally:
        if dockerd is not None:
            dockerd.send_signal(signal.SIGTERM)
            try:
                dockerd.wait(30)
            except subprocess.TimeoutExpired:
                dockerd.kill()
                dockerd.wait()
            subprocess.run(["sh", "-c", f"grep {tmp} /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l"], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
