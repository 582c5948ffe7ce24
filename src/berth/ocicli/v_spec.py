"""``spec [--bundle DIR] [--rootless]`` — write a default config.json."""

from __future__ import annotations

import os

from berth.ocicli.args import Flag, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [
    Flag("bundle,b", "str", "", "path to the root of the bundle directory"),
    Flag("rootless", help="generate a configuration for a rootless container"),
]


def run(ctx: Context, verb: str, args: list[str]) -> int:
    from berth.errdefs import AlreadyExists, InvalidArgument
    from berth.linux.fs import atomic_write
    from berth.oci.default_spec import default_spec
    from berth.oci.fastjson import dumps_indent

    opts, _ = parse(args, FLAGS, verb)
    spec = default_spec()
    if opts["rootless"]:
        uid, gid = os.getuid(), os.getgid()
        lx = spec["linux"]
        lx["namespaces"].append({"type": "user"})
        lx["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
        lx["gidMappings"] = [{"containerID": 0, "hostID": gid, "size": 1}]
        lx.pop("resources", None)
        spec["mounts"] = [m for m in spec["mounts"] if m["type"] != "cgroup"]
        for m in spec["mounts"]:
            if m["type"] == "devpts":
                m["options"] = [o for o in m["options"] if not o.startswith("gid=")]
    bundle = opts["bundle"] or "."
    if not os.path.isdir(bundle):
        raise InvalidArgument(f"spec: bundle {bundle!r} is not a directory")
    path = os.path.join(bundle, "config.json")
    if os.path.exists(path):
        raise AlreadyExists(f"File {path} exists. Remove it first")
    atomic_write(path, dumps_indent(spec) + "\n", 0o644)
    return 0
