"""``berth build [OPTIONS] PATH | -`` (also ``image build``, ``builder build``): build
an image from a Dockerfile with berthd's classic builder, as the docker CLI's legacy
builder does (cli/command/image/build.go).

The context (see :mod:`._build_context`) is streamed to ``POST /build`` while it is
made; the daemon's ``stream`` messages are printed raw as they come, preceded by
``Sending build context to Docker daemon  <size>``. ``-q`` prints only the image id. A
failed step ends the command with the step's exit code and its message on stderr (the
``errorDetail`` ``code``; 1 when it has none), as docker does.
"""

from __future__ import annotations

import os
import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from berth.cli.commands._build_context import ContextTar, Matcher

__all__ = ["COMMAND", "build_query", "run"]

COMMAND = Command(
    "build [OPTIONS] PATH | URL | -",
    "Build an image from a Dockerfile",
    [
        Flag("add-host", "list", help='Add a custom host-to-IP mapping ("host:ip")', metavar="list"),
        Flag("build-arg", "list", help="Set build-time variables", metavar="list"),
        Flag("cache-from", "list", help="Images to consider as cache sources", metavar="strings"),
        Flag("cpu-quota", "int", help="Limit the CPU CFS (Completely Fair Scheduler) quota", metavar="int"),
        Flag("file,f", "string", help="Name of the Dockerfile (Default is \"PATH/Dockerfile\")", metavar="string"),
        Flag("force-rm", help="Always remove intermediate containers"),
        Flag("iidfile", "string", help="Write the image ID to the file", metavar="string"),
        Flag("label", "list", help="Set metadata for an image", metavar="list"),
        Flag("memory,m", "string", help="Memory limit", metavar="bytes"),
        Flag("network", "string", help="Set the networking mode for the RUN instructions during build", metavar="string"),
        Flag("no-cache", help="Do not use cache when building the image"),
        Flag("platform", "string", help="Set platform if server is multi-platform capable", metavar="string"),
        Flag("pull", help="Always attempt to pull a newer version of the image"),
        Flag("quiet,q", help="Suppress the build output and print image ID on success"),
        Flag("rm", "bool", True, help="Remove intermediate containers after a successful build"),
        Flag("shm-size", "string", help="Size of \"/dev/shm\"", metavar="bytes"),
        Flag("tag,t", "list", help='Name and optionally a tag in the "name:tag" format', metavar="list"),
        Flag("target", "string", help="Set the target build stage to build.", metavar="string"),
        Flag("disable-content-trust", "bool", True, help="Skip image verification", hidden=True),
    ],
    (1, 1),
    aliases=("berth image build", "berth build", "berth builder build"),
)

_URL_PREFIXES = ("http://", "https://", "git://", "git@", "github.com/")


def _size(value: str, flag: str) -> int:
    if not value:
        return 0
    from berth.cli.commands._units import ram_in_bytes

    try:
        return ram_in_bytes(value)
    except ValueError as exc:
        raise CliError(f'invalid argument "{value}" for "{flag}" flag: {exc}', 125) from None


def _build_args(values: list[str]) -> dict[str, str | None]:
    """``KEY=VALUE``; ``KEY`` alone takes KEY from the environment, or is sent unset
    (null) when the environment has none (opts.ValidateEnv, ConvertKVStringsToMapWithNil)."""
    out: dict[str, str | None] = {}
    for v in values:
        key, eq, value = v.partition("=")
        if eq:
            out[key] = value
        elif key in os.environ:
            out[key] = os.environ[key]
        else:
            out[key] = None
    return out


def _labels(values: list[str]) -> dict[str, str]:
    return {k: val for k, _, val in (v.partition("=") for v in values)}


def _extra_hosts(values: list[str]) -> list[str]:
    out = []
    for v in values:
        host, sep, ip = v.partition("=") if "=" in v else v.partition(":")
        if not sep or not host or not ip:
            raise CliError(f'invalid argument "{v}" for "--add-host" flag: bad format for add-host: "{v}"', 125)
        out.append(f"{host}:{ip}")
    return out


def build_query(opts: dict[str, Any], dockerfile: str) -> dict[str, object]:
    """The query the docker CLI sends (client/image_build.go): defaults left out, keys in
    url.Values.Encode's sorted order."""
    import json

    q: dict[str, object] = {}
    args = _build_args(list(opts.get("build_arg") or []))
    if args:
        q["buildargs"] = json.dumps(args, separators=(",", ":"))
    if opts.get("cache_from"):
        q["cachefrom"] = json.dumps(list(opts["cache_from"]), separators=(",", ":"))
    if opts.get("cpu_quota"):
        q["cpuquota"] = int(opts["cpu_quota"])
    q["dockerfile"] = dockerfile
    if opts.get("add_host"):
        q["extrahosts"] = _extra_hosts(list(opts["add_host"]))
    if opts.get("force_rm"):
        q["forcerm"] = "1"
    labels = _labels(list(opts.get("label") or []))
    if labels:
        q["labels"] = json.dumps(labels, separators=(",", ":"))
    memory = _size(opts.get("memory") or "", "-m, --memory")
    if memory:
        q["memory"] = memory
    if opts.get("network"):
        q["networkmode"] = opts["network"]
    if opts.get("no_cache"):
        q["nocache"] = "1"
    platform = opts.get("platform") or os.environ.get("DOCKER_DEFAULT_PLATFORM", "")
    if platform:
        q["platform"] = platform.lower()
    if opts.get("pull"):
        q["pull"] = "1"
    if opts.get("quiet"):
        q["q"] = "1"
    if not opts.get("rm", True):
        q["rm"] = "0"
    shm = _size(opts.get("shm_size") or "", "--shm-size")
    if shm:
        q["shmsize"] = shm
    if opts.get("tag"):
        q["t"] = list(opts["tag"])
    if opts.get("target"):
        q["target"] = opts["target"]
    q["version"] = "1"
    return q


def _check_tags(tags: list[str]) -> None:
    from berth.oci.reference import parse_normalized_named

    for t in tags:
        try:
            parse_normalized_named(t)
        except BerthError as exc:
            raise CliError(f'invalid argument "{t}" for "-t, --tag" flag: {exc.message}', 125) from None


def _make_matcher(text: str, extra: list[str]) -> Matcher:
    from berth.builder.dockerignore import IgnoreMatcher, parse_dockerignore

    try:
        return IgnoreMatcher(parse_dockerignore(text) + extra)
    except BerthError as exc:
        raise CliError(f"unable to prepare context: {exc.message}") from None


def prepare_context(source: str, dockerfile: str, stdin: Any) -> ContextTar:
    """The context for ``PATH | URL | -`` and ``-f`` (``-`` reads stdin)."""
    from berth.cli.commands import _build_context as bc

    if source == "-":
        if dockerfile == "-":
            raise CliError("invalid argument: can't use stdin for both build context and dockerfile")
        return bc.stdin_context(stdin, dockerfile)
    if source.startswith(_URL_PREFIXES) or "://" in source:
        raise CliError(
            f"unable to prepare context: berth needs a local build context: {source} is a URL "
            "(clone or download it, then build from the directory)"
        )
    df_data = None
    if dockerfile == "-":
        df_data = stdin.read()
    return bc.local_context(source, "" if dockerfile == "-" else dockerfile, df_data, _make_matcher)


class _Sending:
    """The legacy CLI's upload progress: ``Sending build context to Docker daemon  X``,
    rewritten in place (``\\r``), at most ten times a second, then ``\\r\\r\\n``."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.sent = 0
        self.shown = 0.0

    def _show(self, end: str) -> None:
        from berth.cli.human import human_size

        self.out.write(f"Sending build context to Docker daemon  {human_size(self.sent, 4):>8}{end}")
        self.out.flush()

    def wrap(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        import time

        for data in chunks:
            self.sent += len(data)
            now = time.monotonic()
            if now - self.shown >= 0.1:
                self.shown = now
                self._show("\r")
            yield data
        self._show("\r\r\n")


def _registry_config() -> str:
    """X-Registry-Config: the stored credentials of every registry (the CLI sends all of
    them, since it cannot know which ones the Dockerfile pulls from); "" when none."""
    import base64
    import json

    from berth.registry.credentials import CredentialStore

    store = CredentialStore()
    configs: dict[str, dict[str, str]] = {}
    try:
        for path in store.read_paths:
            try:
                with open(path, "rb") as f:
                    auths = json.loads(f.read() or b"{}").get("auths")
            except (OSError, ValueError, AttributeError):
                continue
            for key in auths if isinstance(auths, dict) else ():
                creds = store.get(key)
                if key not in configs and creds:
                    doc = {"username": creds.username, "password": creds.password, "serveraddress": key}
                    if creds.identity_token:
                        doc["identitytoken"] = creds.identity_token
                    configs[key] = doc
    except BerthError:
        return ""
    if not configs:
        return ""
    return base64.urlsafe_b64encode(json.dumps(configs, separators=(",", ":")).encode()).decode()


def _messages(cli: Cli, ctx: Any, query: dict[str, object], quiet: bool) -> Iterator[dict[str, Any]]:
    """Start the build. A plain directory context is offered to berthd in place first
    (berth's ``contextdir``, with the directory's device and inode so that berthd can tell
    it sees the same one): nothing is uploaded, and berthd digests only files that
    changed. A daemon elsewhere (or ``BERTH_BUILD_UPLOAD=1``) gets the tar, as docker's."""
    if ctx.directory and os.environ.get("BERTH_BUILD_UPLOAD") != "1":
        st = os.stat(ctx.directory)
        here = {**query, "contextdir": ctx.directory, "contextid": f"{st.st_dev}:{st.st_ino}"}
        try:
            return cli.client.build(iter((b"\0" * 1024,)), here, _registry_config())
        except BerthError as exc:
            if "on the daemon's host" not in exc.message:
                raise
    chunks = ctx.chunks()
    if not quiet:
        chunks = _Sending(cli.out).wrap(chunks)
    return cli.client.build(chunks, query, _registry_config())


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands.pull import Display

    tags = list(opts.get("tag") or [])
    _check_tags(tags)
    iidfile = opts.get("iidfile") or ""
    if iidfile:
        try:
            os.remove(iidfile)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CliError(f"Removing image ID file: {exc.strerror}") from None
    quiet = bool(opts.get("quiet"))
    ctx = prepare_context(args[0], opts.get("file") or "", sys.stdin.buffer)
    query = build_query(opts, ctx.dockerfile)
    held: list[str] = []
    image_id = ""
    display = Display(cli.out, bool(getattr(cli.out, "isatty", lambda: False)()))
    try:
        for msg in _messages(cli, ctx, query, quiet):
            detail = msg.get("errorDetail") or {}
            if msg.get("error") or detail:
                display.end()
                if quiet and held:
                    cli.err.write("".join(held))
                code = int(detail.get("code") or 1)
                raise CliError(str(detail.get("message") or msg.get("error") or ""), code)
            aux = msg.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = str(aux["ID"])
            if "stream" in msg:
                if quiet:
                    held.append(str(msg["stream"]))
                else:
                    display.end()
                    cli.out.write(str(msg["stream"]))
                    cli.out.flush()
            elif msg.get("status") and not quiet:
                display.show(msg)
        display.end()
    except BerthError as exc:
        raise cli.error(exc) from None
    except OSError as exc:
        raise CliError(f"error reading the build context: {exc.strerror or exc}") from None
    if quiet:
        image_id = "".join(held)
        cli.out.write(image_id)
        cli.out.flush()
    if iidfile:
        if not image_id:
            raise CliError(f"Server did not provide an image ID. Cannot write {iidfile}")
        try:
            with open(iidfile, "w") as f:
                f.write(image_id)
        except OSError as exc:
            raise CliError(f"open {iidfile}: {exc.strerror}") from None
    return 0
