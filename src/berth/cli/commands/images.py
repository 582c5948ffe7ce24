"""``berth images [-a] [-q] [--digests] [--no-trunc] [--filter …] [--format …] [REPO[:TAG]]``:
docker's table (cli/command/formatter/image.go): one row per repository tag (or digest),
``<none>`` where an image has none, newest first."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "rows", "run"]

COMMAND = Command(
    "images [OPTIONS] [REPOSITORY[:TAG]]",
    "List images",
    [
        Flag("all,a", help="Show all images (default hides intermediate images)"),
        Flag("digests", help="Show digests"),
        Flag("filter,f", "list", help="Filter output based on conditions provided", metavar="filter"),
        Flag("format", "string", help="Format output using a custom template"),
        Flag("no-trunc", help="Don't truncate output"),
        Flag("quiet,q", help="Only show image IDs"),
    ],
    (0, 1),
    aliases=("berth image ls", "berth image list", "berth images"),
)

TITLES = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
}


def _split(ref: str) -> tuple[str, str]:
    """``host:5000/a/b:tag`` → (``host:5000/a/b``, ``tag``); for ``repo@digest`` the digest."""
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return repo, digest
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, ""


def rows(images: list[dict[str, Any]], no_trunc: bool, now: float) -> list[dict[str, Any]]:
    import time

    from berth.cli.human import duration, human_size

    out: list[dict[str, Any]] = []
    for img in images:
        image_id = str(img.get("Id", ""))
        short = image_id if no_trunc else image_id.removeprefix("sha256:")[:12]
        created = int(img.get("Created") or 0)
        base = {
            "ID": short,
            "CreatedSince": (duration(now - created) + " ago") if created else "N/A",
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(created)),
            "Size": human_size(int(img.get("Size") or 0)),
            "Containers": "N/A",
        }
        tags = [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"]
        digests = [d for d in img.get("RepoDigests") or [] if d != "<none>@<none>"]
        by_repo: dict[str, tuple[list[str], list[str]]] = {}
        for t in tags:
            repo, tag = _split(t)
            by_repo.setdefault(repo, ([], []))[0].append(tag)
        for d in digests:
            repo, dg = _split(d)
            by_repo.setdefault(repo, ([], []))[1].append(dg)
        if not by_repo:
            out.append(base | {"Repository": "<none>", "Tag": "<none>", "Digest": "<none>"})
            continue
        for repo, (rtags, rdigests) in by_repo.items():
            digest = rdigests[0] if rdigests else "<none>"
            for tag in rtags or ["<none>"]:
                out.append(base | {"Repository": repo, "Tag": tag, "Digest": digest})
    return out


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import time

    from berth.api.filters import encode

    filters: dict[str, list[str]] = {}
    for f in opts["filter"]:
        key, eq, value = f.partition("=")
        if not eq:
            raise CliError("bad format of filter (expected name=value)")
        filters.setdefault(key.strip().lower(), []).append(value)
    if args:
        filters.setdefault("reference", []).append(args[0])
    try:
        images = cli.client.images(opts["all"], encode(filters), opts["digests"])
    except BerthError as exc:
        raise cli.error(exc) from None
    table = rows(images, opts["no_trunc"], time.time())
    if opts["quiet"]:
        seen: list[str] = []
        for r in table:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        cli.out.write("".join(i + "\n" for i in seen))
        return 0
    from berth.cli.format import FormatError, render_table

    fmt = opts["format"]
    if not fmt or fmt == "table":
        cols = ["{{.Repository}}", "{{.Tag}}"]
        if opts["digests"]:
            cols.append("{{.Digest}}")
        cols += ["{{.ID}}", "{{.CreatedSince}}", "{{.Size}}"]
        fmt = "table " + "\t".join(cols)
    elif fmt == "json":
        fmt = "{{json .}}"
    try:
        cli.out.write(render_table(fmt, table, TITLES))
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None
    return 0
