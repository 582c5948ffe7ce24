"""``docker build`` (the classic builder) in berthd: the context, the worker that runs the
builder's steps with berth's own containers and images, the cache, the messages.

- **Context.** The uploaded tar (plain or compressed) is unpacked into a temporary
  directory with the layer code's path safety; the Dockerfile is read from it
  (``?dockerfile=``), ``.dockerignore`` hides what it excludes from COPY/ADD.
- **RUN** is a real container made by the container service from the step's parent
  image (the same path as ``berth run``: snapshot, berth-shim, runtime, network), its
  output streamed from its log as it comes; its changes become a layer exactly as
  ``commit`` makes one, and the container is removed (``--rm``, the default, or
  ``--force-rm`` also after a failure).
- **COPY/ADD** write into a writable snapshot of the parent mounted on a temporary
  directory; what they changed becomes the layer. Metadata steps add only config and
  history (``empty_layer``).
- **Cache.** A cached step is an image named ``berth.build/cache:<key>``
  (:data:`berth.images.service.BUILD_CACHE_REPO`): garbage collection keeps it and its
  layers, ``images`` does not show it, ``builder prune`` removes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

from berth import errdefs, ids
from berth.archive.apply import apply_layer
from berth.archive.compression import decompress
from berth.archive.diff import write_diff
from berth.builder.build import Builder, BuildOptions, StepFailed
from berth.builder.context import Context, DirContext, TarContext
from berth.builder.dockerfile import parse
from berth.builder.dockerignore import IgnoreMatcher, parse_dockerignore
from berth.engine.build_types import BuildRequest, CacheUsage
from berth.engine.containers.commit import strip_init_paths
from berth.engine.containers.model import ContainerConfig, HostConfig
from berth.engine.containers.service import ContainerService
from berth.images.commit import ChildConfig, commit_image
from berth.images.service import BUILD_CACHE_REPO, ImageService, is_cache_name
from berth.logs.reader import read as read_log
from berth.oci.digest import Digest
from berth.snapshots.mount import mount_all, unmount

__all__ = ["BuildService"]

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], None]


class _Worker:
    """The builder's :class:`berth.builder.build.Worker` over berthd's services."""

    def __init__(self, svc: BuildService, req: BuildRequest, tmp: str) -> None:
        self.svc = svc
        self.images = svc.images
        self.req = req
        self.tmp = tmp

    # images

    def base(self, ref: str, *, pull: bool, platform: str, emit: Callable[[str], None]) -> str:
        if not pull:
            try:
                return str(self.images.image_id(ref))
            except errdefs.NotFound:
                pass
        emit(f"Pulling {ref}\n") if pull else None
        try:
            return str(self.images.pull(ref))
        except errdefs.BerthError as exc:
            raise errdefs.NotFound(f"pull access denied or image not found: {ref}: {exc.message}") from None

    def raw_config(self, image_id: str) -> dict[str, Any]:
        return dict(self.images.inspect(image_id).raw_config)

    def lookup(self, key: str) -> str | None:
        try:
            return str(self.images.image_id(f"{BUILD_CACHE_REPO}:{key}"))
        except errdefs.NotFound:
            return None

    def remember(self, key: str, image_id: str) -> None:
        self.images.tag(image_id, BUILD_CACHE_REPO, key)

    def commit_config(self, parent: str | None, config: dict[str, Any], created_by: str) -> str:
        child = ChildConfig(config=config, container_config=config, created_by=created_by)
        return str(commit_image(self.images, parent, None, child))

    def reuse_layer(
        self, parent: str | None, created_by: str, config: dict[str, Any], cache_from: Sequence[str]
    ) -> str | None:
        if parent is not None:
            p = self.images.inspect(parent)
            p_hist = [h.created_by for h in p.history]
            p_diff = [str(d) for d in p.diff_ids]
        else:
            p_hist, p_diff = [], []
        for ref in cache_from:
            try:
                x = self.images.inspect(ref)
            except errdefs.NotFound:
                continue
            hist = list(x.history)
            diffs = [str(d) for d in x.diff_ids]
            n = len(p_hist)
            if len(hist) <= n or [h.created_by for h in hist[:n]] != p_hist or diffs[: len(p_diff)] != p_diff:
                continue
            step = hist[n]
            if step.created_by != created_by or step.empty_layer or len(diffs) <= len(p_diff):
                continue
            group, _ = self.images._find(ref)
            desc = group.loaded.manifest.layers[len(p_diff)]
            child = ChildConfig(config=config, container_config=config, created_by=created_by)
            return str(commit_image(self.images, parent, None, child, reuse=(desc, Digest(diffs[len(p_diff)]))))
        return None

    # RUN

    def run(
        self, parent: str | None, config: dict[str, Any], cmd: list[str], env: list[str], *,
        created_by: str, network: str, emit: Callable[[str], None],
    ) -> str:  # fmt: skip
        if parent is None:  # RUN in scratch: an empty image to start the container from
            parent = self.commit_config(None, config, "")
        cs = self.svc.containers
        cc = ContainerConfig(
            image=parent, entrypoint=cmd[:1], cmd=cmd[1:], env=[*(config.get("Env") or []), *env],
            user=str(config.get("User") or ""), working_dir=str(config.get("WorkingDir") or ""),
        )  # fmt: skip
        hc = HostConfig(network_mode={"": "default", "default": "default"}.get(network, network))
        hc.extra_hosts = list(self.req.extra_hosts)
        hc.shm_size = self.req.shm_size
        hc.resources.memory = self.req.memory
        hc.resources.cpu_quota = self.req.cpu_quota
        c, _ = cs.create("", cc, hc)
        emit(f" ---> Running in {c.id[:12]}\n")
        keep = False
        try:
            fut = cs.wait_future(c.id, "next-exit")
            cs.start(c.id)
            done = threading.Event()
            fut.add_done_callback(lambda _: done.set())
            for rec in read_log(c.log_path, follow=True, stop=done.is_set):
                emit(rec.line.decode("utf-8", "replace"))
            code = fut.result().status_code
            if code != 0:
                # Docker keeps a failed step's container unless --force-rm; berth removes
                # it with --rm (the default): a failed build leaves nothing behind
                keep = not self.req.rm
                raise StepFailed(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code)
            with tempfile.TemporaryFile(dir=self.tmp) as raw, tempfile.TemporaryFile(dir=self.tmp) as layer:
                key = c.snapshot_key
                write_diff(cs.sn.lower_dirs(key), cs.sn.fs_dir(key), raw)
                strip_init_paths(raw, layer)
                layer.seek(0)
                child = ChildConfig(config=config, container_id=c.id, container_config=config, created_by=created_by)
                image_id = str(commit_image(self.images, parent, layer, child))
        finally:
            if not keep and (self.req.rm or self.req.force_rm):
                with contextlib.suppress(errdefs.BerthError):
                    cs.remove(c.id, force=True)
                emit(f"Removing intermediate container {c.id[:12]}\n")
        return image_id

    # COPY and ADD

    def _chain(self, image_id: str | None) -> str | None:
        if image_id is None:
            return None
        chains = self.images.inspect(image_id).chain_ids
        return str(chains[-1]) if chains else None

    def write_layer(
        self, parent: str | None, config: dict[str, Any], created_by: str, write: Callable[[str], None]
    ) -> str:
        sn = self.svc.containers.sn
        key = f"build-{ids.new_id()}"
        mnt = tempfile.mkdtemp(prefix="rootfs-", dir=self.tmp)
        mounts = sn.prepare(key, self._chain(parent), {"berth.build": "1"})
        try:
            mount_all(mounts, mnt)
            try:
                write(mnt)
            finally:
                unmount(mnt)
            with tempfile.TemporaryFile(dir=self.tmp) as layer:
                write_diff(sn.lower_dirs(key), sn.fs_dir(key), layer)
                layer.seek(0)
                child = ChildConfig(config=config, container_config=config, created_by=created_by)
                # the snapshot written is the layer's: commit it, do not extract it again
                return str(commit_image(self.images, parent, layer, child, snapshot_key=key))
        finally:
            with contextlib.suppress(errdefs.BerthError):
                sn.remove(key)
            shutil.rmtree(mnt, ignore_errors=True)

    @contextlib.contextmanager
    def image_rootfs(self, image_id: str) -> Iterator[str]:
        sn = self.svc.containers.sn
        key = f"build-view-{ids.new_id()}"
        mnt = tempfile.mkdtemp(prefix="view-", dir=self.tmp)
        chain = self._chain(image_id)
        if chain is None:
            yield mnt  # scratch: nothing in it
            return
        mounts = sn.view(key, chain, {"berth.build": "1"})
        try:
            mount_all(mounts, mnt)
            try:
                yield mnt
            finally:
                unmount(mnt)
        finally:
            with contextlib.suppress(errdefs.BerthError):
                sn.remove(key)
            shutil.rmtree(mnt, ignore_errors=True)

    def fetch(self, url: str, directory: str) -> str:
        name = os.path.basename(url.split("?", 1)[0].rstrip("/")) or "index.html"
        path = os.path.join(directory, name)
        try:
            with urllib.request.urlopen(url, timeout=30) as r, open(path, "wb") as f:
                shutil.copyfileobj(r, f)
                modified = r.headers.get("Last-Modified")
        except urllib.error.HTTPError as exc:
            raise errdefs.NotFound(f"failed to GET {url} with status {exc.code}: {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise errdefs.Unavailable(f"failed to GET {url}: {reason}") from None
        os.chmod(path, 0o600)
        if modified:
            with contextlib.suppress(ValueError, TypeError):
                t = parsedate_to_datetime(modified).timestamp()
                os.utime(path, (t, t))
        return path

    def is_archive(self, path: str) -> bool:
        """A tar (plain, gzip, bzip2, xz, zstd): its first block, decompressed, is a tar header."""
        try:
            with open(path, "rb") as f:
                plain, _ = decompress(f)
                block = plain.read(512)
        except (OSError, errdefs.BerthError, EOFError, ValueError):
            return False
        if len(block) < 512:
            return False
        try:
            tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError:
            return False
        return True

    def unpack(self, path: str, directory: str) -> None:
        with open(path, "rb") as f:
            apply_layer(directory, f)


class BuildService:
    def __init__(self, images: ImageService, containers: ContainerService, tmp_root: str) -> None:
        self.images = images
        self.containers = containers
        self.tmp_root = tmp_root
        os.makedirs(tmp_root, 0o700, exist_ok=True)

    def build(self, context: BinaryIO, req: BuildRequest, emit: Emit) -> str:
        if req.remote:
            raise errdefs.NotImplemented("berth builds from an uploaded context only: remote contexts are not supported")
        tmp = tempfile.mkdtemp(prefix="build-", dir=self.tmp_root)
        started = False

        def stream(text: str) -> None:
            nonlocal started
            started = True
            emit({"stream": text})

        try:
            df_name = os.path.normpath("/" + (req.dockerfile or "Dockerfile")).lstrip("/")
            t0 = time.monotonic()
            ctx: Context
            if req.context_dir:
                ctx = DirContext(req.context_dir, req.context_id)  # read in place, nothing uploaded
            else:
                plain, _ = decompress(context)
                # indexed as it arrives; unpacked only if a COPY/ADD step has to run
                ctx = TarContext(plain, tmp, keep=(df_name, ".dockerignore"))
                log.debug("build context: %d entries indexed in %.3f s", len(ctx.entries), time.monotonic() - t0)
            text = ctx.read_small(df_name)
            if text is None:
                raise errdefs.InvalidArgument(f"Cannot locate specified Dockerfile: {req.dockerfile or 'Dockerfile'}")
            dockerfile = parse(text)
            excluded = None
            ignore = ctx.read_small(".dockerignore")
            if ignore is not None:
                matcher = IgnoreMatcher(parse_dockerignore(ignore.decode("utf-8", "surrogateescape")))
                excluded = lambda rel: matcher.excluded(rel, ctx.is_dir(rel))  # noqa: E731
            worker = _Worker(self, req, tmp)
            opts = BuildOptions(
                build_args=dict(req.build_args), labels=dict(req.labels), target=req.target,
                no_cache=req.no_cache, pull=req.pull, platform=req.platform, network=req.network_mode,
                excluded=excluded, cache_from=list(req.cache_from),
            )  # fmt: skip
            try:
                image_id = Builder(worker, ctx, stream).build(dockerfile, opts)
            except StepFailed as exc:
                emit({"errorDetail": {"code": exc.code, "message": exc.message}, "error": exc.message})
                raise
            except errdefs.BerthError as exc:
                if not started:
                    raise
                emit({"errorDetail": {"message": exc.message}, "error": exc.message})
                raise
            log.debug("build: %s in %.3f s after the context", image_id[:19], time.monotonic() - t0)
            emit({"aux": {"ID": image_id}})
            stream(f"Successfully built {image_id.removeprefix('sha256:')[:12]}\n")
            for t in req.tags:
                name = self.images.tag(image_id, t)
                stream(f"Successfully tagged {name}\n")
            return image_id
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- the cache -------------------------------------------------------------------------

    def usage(self) -> list[CacheUsage]:
        """The build cache records (``system df``)."""
        return self._cache_images()

    def _cache_images(self) -> list[CacheUsage]:
        out: list[CacheUsage] = []
        with self.images.db.images() as tx:
            records = [r for r in tx.list_images() if is_cache_name(r.name)]
        for r in records:
            try:
                d = self.images.inspect(r.name)
            except errdefs.BerthError:
                continue
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.created))
            used = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.updated))
            last = d.history[-1] if d.history else None
            own = d.layer_sizes[-1] if d.layer_sizes and last is not None and not last.empty_layer else 0
            out.append(
                CacheUsage(
                    id=r.name.rpartition(":")[2][:25], size=int(own), created=created, last_used=used,
                    in_use=False, shared=False, description=last.created_by if last is not None else "",
                )
            )
        return out

    def prune(self, all: bool, filters: Mapping[str, Sequence[str]], keep_storage: int) -> tuple[list[str], int]:
        """``builder prune``: every cache record (berth keeps no in-use distinction); the
        layers no image needs any more go with the next garbage collection, now."""
        deleted: list[str] = []
        reclaimed = 0
        for u in self._cache_images():
            deleted.append(u.id)
            reclaimed += u.size
        with self.images.db.images() as tx:
            for r in tx.list_images():
                if is_cache_name(r.name):
                    tx.delete_image(r.name)
        self.images.gc()
        return deleted, reclaimed

