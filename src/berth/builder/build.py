"""Executing a Dockerfile, as Docker's classic builder does: one image per step, cached.

**Stages.** Every ``FROM`` starts a stage, named by ``AS`` or numbered from 0. Stages are
built in order up to ``--target`` (the last one by default); ``FROM <stage>`` and ``COPY
--from=<stage>`` use an earlier stage's result, ``COPY --from=<image>`` an image.

**Steps.** Each instruction is a step with its own image: metadata steps (ENV, LABEL,
CMD…) change the config and add a history entry marked ``empty_layer``; RUN runs the
command in a real container on the step's parent image and commits what it changed as a
layer; COPY and ADD write their files into a writable snapshot of the parent and commit
that. The :class:`Worker` (the engine) does the running and committing: this module is
the Dockerfile's semantics.

**Variables.** ``ARG`` before the first ``FROM`` are meta args for the ``FROM`` lines; in
a stage, ``ARG`` declares a build argument (``--build-arg`` overrides its default), seen
by later instructions and by RUN's environment but not kept in the image; ``ENV`` is kept
and wins over an ``ARG`` of the same name. Substitution applies to the instructions the
Dockerfile reference lists (not RUN/CMD/ENTRYPOINT, whose shell does it).

**Cache.** A step is reused when an earlier build made it from the same parent image with
the same instruction after substitution, the same build environment (args, shell,
network), and for COPY/ADD the same source files (names, modes, contents): the key is a
digest of those, the worker keeps key → image. ``--no-cache`` skips lookups (and still
records). Output follows the classic builder's lines, which clients parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from berth import errdefs
from berth.builder import args as argmod
from berth.builder import copy as copymod
from berth.builder.context import Context
from berth.builder.dockerfile import Dockerfile, Instruction, parse_onbuild
from berth.builder.expand import Lexer, expand_word, expand_words
from berth.builder.worker import BuildError, BuildOptions, Emit, StepFailed, Worker
from berth.gofmt import format_duration, quote_list
from berth.linux.fs import mkdir_all_in_root

__all__ = ["BuildError", "BuildOptions", "Builder", "Emit", "StepFailed", "Worker"]

# Docker's predefined build args: usable without an ARG line, never in history
PREDEFINED_ARGS = frozenset(
    n for p in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY") for n in (p, p.lower())
)
DEFAULT_SHELL = ["/bin/sh", "-c"]


@dataclass
class _Stage:
    name: str
    index: int
    image: str | None = None  # the current image id; None = scratch, nothing yet
    config: dict[str, Any] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)  # declared ARGs and their values
    shell: list[str] = field(default_factory=lambda: list(DEFAULT_SHELL))
    cmd_set: bool = False


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _env_map(config: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for kv in config.get("Env") or []:
        k, _, v = str(kv).partition("=")
        out[k] = v
    return out


def _set_env(config: dict[str, Any], key: str, value: str) -> None:
    """Set ``key``: in place when the image has it already (Docker keeps the order)."""
    env = list(config.get("Env") or [])
    for i, e in enumerate(env):
        if str(e).partition("=")[0] == key:
            env[i] = f"{key}={value}"
            break
    else:
        env.append(f"{key}={value}")
    config["Env"] = env


DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Builder:
    def __init__(self, worker: Worker, context: Context, emit: Emit) -> None:
        self.worker = worker
        self.context = context
        self.emit = emit
        self._stages: list[_Stage] = []
        self._used_args: set[str] = set()

    # -- the whole build -------------------------------------------------------------------

    def build(self, df: Dockerfile, opts: BuildOptions) -> str:
        """Build ``df``; the final image id (the target stage's)."""
        self.opts = opts
        self.escape = df.escape
        instrs = list(df.instructions)
        if not any(i.cmd == "FROM" for i in instrs):
            raise BuildError("no build stage in current context")
        meta: dict[str, str] = {}
        body: list[Instruction] = []
        seen_from = False
        for ins in instrs:
            if not seen_from and ins.cmd == "ARG":
                for name, default in argmod.parse_arg(ins):
                    value = opts.build_args.get(name)
                    if value is None:
                        value = expand_word(default, meta, self.escape) if default is not None else None
                    if value is not None:
                        meta[name] = value
                    self._used_args.add(name)
                continue
            if not seen_from and ins.cmd != "FROM":
                raise BuildError(f"dockerfile parse error line {ins.line}: {ins.cmd} before FROM: no build stage")
            seen_from = True
            body.append(ins)
        self.meta = meta
        stops = self._target_end(body, opts.target)
        total = len(instrs[: len(instrs) - len(body)]) + stops + (1 if opts.labels else 0)
        step = len(instrs) - len(body)
        # the meta ARG lines count as steps too, as in Docker's classic builder
        for n, ins in enumerate(instrs[: len(instrs) - len(body)], start=1):
            self._step_line(n, total, ins)
        current: _Stage | None = None
        for ins in body[:stops]:
            step += 1
            self._step_line(step, total, ins)
            if ins.cmd == "FROM":
                current = self._from(ins)
                continue
            assert current is not None
            self._step(current, ins)
        assert current is not None
        if opts.labels:
            # --label: one more LABEL step on the target, as Docker's classic builder adds it
            text = " ".join(f"{k}={v}" for k, v in opts.labels.items())
            label = Instruction(cmd="LABEL", args=(text,), json=False, flags=(), original=f"LABEL {text}", line=0, end_line=0)
            step += 1
            self._step_line(step, total, label)
            labels = dict(opts.labels)

            def add(c: dict[str, Any]) -> None:
                c["Labels"] = {**(c.get("Labels") or {}), **labels}

            self._meta(current, label, f" LABEL {text}", add)
        unused = sorted(
            k for k in opts.build_args if k not in self._used_args and k not in PREDEFINED_ARGS
        )
        if unused:
            self.emit(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        if current.image is None:
            current.image = self.worker.commit_config(None, current.config, "")
        return current.image

    def _target_end(self, body: Sequence[Instruction], target: str) -> int:
        """How many of ``body``'s instructions to build: up to the end of the target stage."""
        if not target:
            return len(body)
        found = False
        for i, ins in enumerate(body):
            if ins.cmd == "FROM":
                if found:
                    return i
                found = self._stage_name(ins).lower() == target.lower()
        if not found:
            raise BuildError(f"failed to reach build target {target} in Dockerfile")
        return len(body)

    def _step_line(self, n: int, total: int, ins: Instruction) -> None:
        self.emit(f"Step {n}/{total} : {ins.original}")
        self.emit("\n")

    # -- FROM ------------------------------------------------------------------------------

    @staticmethod
    def _stage_name(ins: Instruction) -> str:
        words = list(ins.args)
        if len(words) == 3 and words[1].upper() == "AS":
            return words[2]
        return ""

    def _from(self, ins: Instruction) -> _Stage:
        words = list(ins.args)
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            raise BuildError("FROM requires either one or three arguments")
        ref = expand_word(words[0], self.meta, self.escape)
        name = self._stage_name(ins)
        stage = _Stage(name=name.lower(), index=len(self._stages))
        platform = expand_word(ins.flag("platform") or "", self.meta, self.escape) or self.opts.platform
        earlier = self._find_stage(ref)
        if earlier is not None:
            stage.image = earlier.image
            stage.config = json.loads(json.dumps(earlier.config))
            stage.shell = list(earlier.shell)
        elif ref.lower() == "scratch":
            stage.image = None
            stage.config = {}
        else:
            if not ref:
                raise BuildError(f"base name ({words[0]}) should not be blank")
            stage.image = self.worker.base(ref, pull=self.opts.pull, platform=platform, emit=self.emit)
            stage.config = dict(self.worker.raw_config(stage.image).get("config") or {})
            if stage.config.get("Shell"):
                stage.shell = list(stage.config["Shell"])
        if earlier is None and not any(str(e).startswith("PATH=") for e in stage.config.get("Env") or []):
            # Docker gives every stage the default PATH when its base has none
            stage.config["Env"] = [*(stage.config.get("Env") or []), f"PATH={DEFAULT_PATH}"]
        self.emit(f" ---> {_short(stage.image) if stage.image else ''}\n")
        self._stages.append(stage)
        triggers = list(stage.config.get("OnBuild") or [])
        if triggers and earlier is None:
            stage.config["OnBuild"] = None  # they ran: the child has none of its own
            self.emit(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            from berth.builder.dockerfile import parse

            for text in triggers:
                for trig in parse(text).instructions:
                    self._step(stage, trig)
        return stage

    def _find_stage(self, ref: str) -> _Stage | None:
        for s in self._stages:
            if s.name and s.name == ref.lower():
                return s
        if ref.isdigit() and int(ref) < len(self._stages):
            return self._stages[int(ref)]
        return None

    # -- one step --------------------------------------------------------------------------

    def _vars(self, st: _Stage) -> dict[str, str]:
        """What substitution sees: the stage's args, then its env over them."""
        return {**st.args, **_env_map(st.config)}

    def _x(self, st: _Stage, word: str) -> str:
        return expand_word(word, self._vars(st), self.escape)

    def _step(self, st: _Stage, ins: Instruction) -> None:
        handler = getattr(self, f"_i_{ins.cmd.lower()}", None)
        if handler is None:
            raise BuildError(f"dockerfile parse error line {ins.line}: unknown instruction: {ins.cmd}")
        handler(st, ins)

    def _cached_or(
        self,
        st: _Stage,
        key_parts: Sequence[str],
        make: Callable[[], str],
        layer: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """The step's image from the cache, else ``make()``. ``layer`` (a layer step's
        created_by and config) lets a ``--cache-from`` image's same layer stand in."""
        key = hashlib.sha256("\0".join([st.image or "scratch", *key_parts]).encode()).hexdigest()
        if not self.opts.no_cache:
            hit = self.worker.lookup(key)
            if hit is None and layer is not None and self.opts.cache_from:
                hit = self.worker.reuse_layer(st.image, layer[0], layer[1], self.opts.cache_from)
                if hit is not None:
                    self.worker.remember(key, hit)
            if hit is not None:
                self.emit(" ---> Using cache\n")
                st.image = hit
                self.emit(f" ---> {_short(hit)}\n")
                return
        image = make()
        self.worker.remember(key, image)
        st.image = image
        self.emit(f" ---> {_short(image)}\n")

    def _meta(self, st: _Stage, ins: Instruction, text: str, change: Callable[[dict[str, Any]], None]) -> None:
        config = json.loads(json.dumps(st.config))
        change(config)
        created_by = f"{' '.join(st.shell)} #(nop) {text}"
        key = [ins.cmd, text, json.dumps(config, sort_keys=True)]

        def make() -> str:
            return self.worker.commit_config(st.image, config, created_by)

        self._cached_or(st, key, make)
        st.config = config

    # metadata instructions

    def _i_env(self, st: _Stage, ins: Instruction) -> None:
        pairs = argmod.parse_kv(ins, self._vars(st))

        def change(c: dict[str, Any]) -> None:
            for k, v in pairs:
                _set_env(c, k, v)

        self._meta(st, ins, " ENV " + " ".join(f"{k}={v}" for k, v in pairs), change)

    def _i_label(self, st: _Stage, ins: Instruction) -> None:
        pairs = argmod.parse_kv(ins, self._vars(st))

        def change(c: dict[str, Any]) -> None:
            labels = dict(c.get("Labels") or {})
            labels.update(pairs)
            c["Labels"] = labels

        self._meta(st, ins, " LABEL " + " ".join(f"{k}={v}" for k, v in pairs), change)

    def _i_maintainer(self, st: _Stage, ins: Instruction) -> None:
        who = " ".join(ins.args)
        self._meta(st, ins, f" MAINTAINER {who}", lambda c: None)

    def _i_arg(self, st: _Stage, ins: Instruction) -> None:
        for name, default in argmod.parse_arg(ins):
            self._used_args.add(name)
            given = self.opts.build_args.get(name)
            if given is not None:
                st.args[name] = given
            elif default is not None:
                st.args[name] = expand_word(default, self._vars(st), self.escape)
            elif name in self.meta:
                st.args[name] = self.meta[name]
            else:
                st.args.pop(name, None)
        text = " ARG " + " ".join(n if d is None else f"{n}={d}" for n, d in argmod.parse_arg(ins))
        self._meta(st, ins, text, lambda c: None)

    def _i_workdir(self, st: _Stage, ins: Instruction) -> None:
        path = self._x(st, " ".join(ins.args))
        if not path:
            raise BuildError("WORKDIR requires exactly one argument")

        # as Docker's classic builder: the directory is made (owned by root) and committed
        # as a layer, and history shows the resolved path
        config = json.loads(json.dumps(st.config))
        resolved = os.path.normpath(os.path.join(config.get("WorkingDir") or "/", path))
        config["WorkingDir"] = resolved
        created_by = f"{' '.join(st.shell)} #(nop) WORKDIR {resolved}"

        def write(rootfs: str) -> None:
            mkdir_all_in_root(rootfs, resolved, 0o755, "working directory")

        def make() -> str:
            return self.worker.write_layer(st.image, config, created_by, write)

        self._cached_or(st, ["WORKDIR", resolved, json.dumps(config, sort_keys=True)], make, (created_by, config))
        st.config = config

    def _i_user(self, st: _Stage, ins: Instruction) -> None:
        user = self._x(st, " ".join(ins.args))
        if not user:
            raise BuildError("USER requires exactly one argument")
        self._meta(st, ins, f" USER {user}", lambda c: c.__setitem__("User", user))

    def _i_expose(self, st: _Stage, ins: Instruction) -> None:
        words = [self._x(st, w) for w in ins.args]
        ports = argmod.parse_expose(words)

        def change(c: dict[str, Any]) -> None:
            exposed = dict(c.get("ExposedPorts") or {})
            for p in ports:
                exposed[p] = {}
            c["ExposedPorts"] = exposed

        self._meta(st, ins, " EXPOSE " + " ".join(sorted(words)), change)

    def _i_volume(self, st: _Stage, ins: Instruction) -> None:
        paths = list(ins.args) if ins.json else expand_words(" ".join(ins.args), self._vars(st), self.escape)
        paths = [self._x(st, p) if ins.json else p for p in paths]
        if not paths or any(not p.strip() for p in paths):
            raise BuildError("VOLUME specified can not be an empty string")

        def change(c: dict[str, Any]) -> None:
            vols = dict(c.get("Volumes") or {})
            for p in paths:
                vols[p] = {}
            c["Volumes"] = vols

        self._meta(st, ins, " VOLUME [" + " ".join(paths) + "]", change)

    def _i_stopsignal(self, st: _Stage, ins: Instruction) -> None:
        sig = self._x(st, " ".join(ins.args))
        self._meta(st, ins, f" STOPSIGNAL {sig}", lambda c: c.__setitem__("StopSignal", sig))

    def _command(self, st: _Stage, ins: Instruction) -> list[str]:
        if ins.json:
            return list(ins.args)
        return [*st.shell, " ".join(ins.args)]

    def _i_cmd(self, st: _Stage, ins: Instruction) -> None:
        cmd = self._command(st, ins)
        st.cmd_set = True
        self._meta(st, ins, f" CMD {quote_list(cmd)}", lambda c: c.__setitem__("Cmd", cmd))

    def _i_entrypoint(self, st: _Stage, ins: Instruction) -> None:
        ep = self._command(st, ins) if (ins.json or (ins.args and " ".join(ins.args))) else []

        def change(c: dict[str, Any]) -> None:
            c["Entrypoint"] = ep or None
            if not st.cmd_set:
                c["Cmd"] = None  # Docker: an ENTRYPOINT resets a CMD inherited from the base

        self._meta(st, ins, f" ENTRYPOINT {quote_list(ep)}", change)

    def _i_shell(self, st: _Stage, ins: Instruction) -> None:
        if not ins.json or not ins.args:
            raise BuildError("SHELL requires the arguments to be in JSON form")
        shell = list(ins.args)
        st.shell = shell  # its own history line already starts with the new shell, as Docker's
        self._meta(st, ins, f" SHELL [{' '.join(shell)}]", lambda c: c.__setitem__("Shell", shell))

    def _i_healthcheck(self, st: _Stage, ins: Instruction) -> None:
        hc = argmod.parse_healthcheck(ins)
        test = list(hc["test"])
        if test and test[0] == "CMD-SHELL" and st.shell != DEFAULT_SHELL:
            pass  # Docker keeps CMD-SHELL; the runtime uses the image's shell
        health: dict[str, Any] = {"Test": test}
        for src, dst in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod"),
                         ("start_interval", "StartInterval"), ("retries", "Retries")):  # fmt: skip
            if hc.get(src):
                health[dst] = hc[src]
        # Docker's history shows the Go struct: &{Test Interval Timeout StartPeriod Retries}
        text = (
            f" HEALTHCHECK &{{{quote_list(test)} \"{format_duration(hc.get('interval') or 0)}\" "
            f"\"{format_duration(hc.get('timeout') or 0)}\" \"{format_duration(hc.get('start_period') or 0)}\" "
            f"'\\x{int(hc.get('retries') or 0):02x}'}}"
        )
        self._meta(st, ins, text, lambda c: c.__setitem__("Healthcheck", health))

    def _i_onbuild(self, st: _Stage, ins: Instruction) -> None:
        inner = parse_onbuild(ins)
        text = inner.original

        def change(c: dict[str, Any]) -> None:
            c["OnBuild"] = [*(c.get("OnBuild") or []), text]

        self._meta(st, ins, f" ONBUILD {text}", change)

    # RUN

    def _build_env(self, st: _Stage) -> list[str]:
        """The args a RUN sees (not kept in the image); ENV of the same name wins."""
        env = _env_map(st.config)
        return [f"{k}={v}" for k, v in sorted(st.args.items()) if k not in env]

    def _i_run(self, st: _Stage, ins: Instruction) -> None:
        if ins.json:
            cmd = list(ins.args)
        else:
            text = " ".join(ins.args)
            if ins.heredocs and all(w.startswith("<<") for w in text.split()):
                # RUN <<EOF alone: the here-document is the script
                text = "".join(h.content for h in ins.heredocs)
            elif ins.heredocs:
                # a command reading here-documents: the shell runs them itself
                text += "\n" + "".join(f"{h.content}{h.name}\n" for h in ins.heredocs)
            cmd = [*st.shell, text]
        network = ins.flag("network") or self.opts.network or ""
        if network not in ("", "default", "none", "host"):
            raise BuildError(f"RUN --network={network}: want default, none or host")
        args_env = self._build_env(st)
        prefix = f"|{len(args_env)} {' '.join(args_env)} " if args_env else ""
        created_by = prefix + " ".join(cmd)
        config = json.loads(json.dumps(st.config))
        key = ["RUN", json.dumps(cmd), json.dumps(args_env), network, json.dumps(config, sort_keys=True)]

        def make() -> str:
            return self.worker.run(
                st.image, config, cmd, args_env, created_by=created_by, network=network, emit=self.emit
            )

        self._cached_or(st, key, make, (created_by, config))

    # COPY and ADD

    def _i_copy(self, st: _Stage, ins: Instruction) -> None:
        self._copy(st, ins, add=False)

    def _i_add(self, st: _Stage, ins: Instruction) -> None:
        self._copy(st, ins, add=True)

    def _copy(self, st: _Stage, ins: Instruction, *, add: bool) -> None:
        what = "ADD" if add else "COPY"
        chown_spec = self._x(st, ins.flag("chown") or "")
        chmod_spec = ins.flag("chmod") or ""
        chmod = argmod.parse_chmod(chmod_spec) if chmod_spec else None
        from_ref = self._x(st, ins.flag("from") or "")
        if add and from_ref:
            raise BuildError("ADD does not support --from: use COPY --from")
        vars_ = self._vars(st)
        if ins.heredocs and not ins.json:
            self._copy_heredocs(st, ins, what, chown_spec, chmod, vars_)
            return
        raw_sources, raw_dest = argmod.parse_copy_sources(ins)
        sources_words = [expand_word(s, vars_, self.escape) for s in raw_sources]
        dest = expand_word(raw_dest, vars_, self.escape)
        several = len(sources_words) > 1
        with contextlib.ExitStack() as stack:
            image_root = ""
            if from_ref:
                stage = self._find_stage(from_ref)
                if stage is not None:
                    if stage.image is None:
                        raise BuildError(f"{what} --from={from_ref}: the stage has no files (scratch)")
                    image_id = stage.image
                else:
                    image_id = self.worker.base(from_ref, pull=False, platform=self.opts.platform, emit=self.emit)
                image_root = stack.enter_context(self.worker.image_rootfs(image_id))
            excluded = None if from_ref else self.opts.excluded
            where = f"image {from_ref}" if from_ref else "build context"
            patterns: list[str] = []
            urls: list[str] = []
            found: list[copymod.Source] = []  # in the image, or in the context's index
            for s in sources_words:
                if add and s.startswith(("http://", "https://")):
                    urls.append(s)
                    continue
                patterns.append(s)
                try:
                    if from_ref:
                        found += copymod.find_sources(image_root, s, excluded=excluded, what=where)
                    else:
                        found += self.context.find(s, excluded=excluded, what=where)
                except (errdefs.NotFound, errdefs.InvalidArgument) as exc:
                    raise BuildError(f"{what} failed: {exc.message}") from None
            if not found and not urls:
                raise BuildError(f"{what} failed: no source files were specified")
            several = several or len(found) + len(urls) > 1  # a wildcard matching several
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="berth-add-"))
            fetched = [
                copymod.Source(self.worker.fetch(u, tmp), os.path.basename(u.split("?")[0]) or "index.html")
                for u in urls
            ]
            if from_ref:
                digest = copymod.sources_digest([*found, *fetched], excluded)
            else:
                digest = self.context.digest(found, excluded)
                if fetched:
                    digest = "sha256:" + hashlib.sha256((digest + copymod.sources_digest(fetched)).encode()).hexdigest()
            n = len(found) + len(fetched)
            kind = "multi" if n > 1 else "dir" if (found and found[0].is_dir) else "file"
            glued = f"--chown={chown_spec}" if chown_spec else ""
            text = f"{what} {glued}{kind}:{digest.removeprefix('sha256:')} in {dest} "
            config = json.loads(json.dumps(st.config))
            workdir = config.get("WorkingDir") or "/"
            key = [what, digest, dest, workdir, chown_spec, chmod_spec, json.dumps(config, sort_keys=True)]

            def write(rootfs: str) -> None:
                if from_ref:
                    on_disk = list(found)
                else:  # the step runs: now the context is unpacked, and resolved on disk
                    root = self.context.root()
                    on_disk = [src for p in patterns for src in copymod.find_sources(root, p, excluded=excluded, what=where)]
                chown = copymod.resolve_chown(rootfs, chown_spec) if chown_spec else (0, 0)
                copymod.copy_into(
                    rootfs, [*on_disk, *fetched], dest, workdir=workdir, several=several, chown=chown, chmod=chmod,
                    excluded=excluded,
                    unpack=self.worker.unpack if add else None,
                    is_archive=(lambda p: not p.startswith(tmp) and self.worker.is_archive(p)) if add else None,
                )  # fmt: skip

            created_by = f"{' '.join(st.shell)} #(nop) {text}"

            def make() -> str:
                return self.worker.write_layer(st.image, config, created_by, write)

            self._cached_or(st, key, make, (created_by, config))

    def _copy_heredocs(
        self, st: _Stage, ins: Instruction, what: str, chown_spec: str, chmod: int | None, vars_: dict[str, str]
    ) -> None:
        words = [w for w in " ".join(ins.args).split() if not w.startswith("<<")]
        if len(words) != 1:
            raise BuildError(f"{what} with a here-document takes one destination")
        dest = expand_word(words[0], vars_, self.escape)
        files = []
        for h in ins.heredocs:
            # variables expand in an unquoted heredoc; quotes and escapes stay as written
            body = Lexer(vars_, self.escape, raw_quotes=True, raw_escapes=True).process(h.content)[0] if h.expand else h.content
            files.append((h.name, body))
        config = json.loads(json.dumps(st.config))
        workdir = config.get("WorkingDir") or "/"
        digest = hashlib.sha256(json.dumps(files).encode()).hexdigest()
        key = [what, "heredoc", digest, dest, workdir, chown_spec, str(chmod), json.dumps(config, sort_keys=True)]

        def write(rootfs: str) -> None:
            with tempfile.TemporaryDirectory(prefix="berth-heredoc-") as tmp:
                srcs = []
                for name, body in files:
                    path = os.path.join(tmp, name)
                    with open(path, "w") as f:
                        f.write(body)
                    os.chmod(path, 0o644)
                    srcs.append(copymod.Source(path, name))
                chown = copymod.resolve_chown(rootfs, chown_spec) if chown_spec else (0, 0)
                copymod.copy_into(rootfs, srcs, dest, workdir=workdir, several=len(srcs) > 1, chown=chown, chmod=chmod)

        def make() -> str:
            return self.worker.write_layer(st.image, config, f"{' '.join(st.shell)} #(nop) {what} heredoc in {dest}", write)

        self._cached_or(st, key, make)

