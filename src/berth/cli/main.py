"""``berth [OPTIONS] COMMAND``: the berth CLI, docker's command line against berthd.

The daemon is chosen by ``-H/--host``, else ``BERTH_HOST``, else
unix:///run/berth/berth.sock. ``DOCKER_HOST`` is deliberately *not* read: a shell set up
for docker would otherwise send berth commands to dockerd without a word.
``BERTH_API_VERSION`` pins the API version (no negotiation), like ``DOCKER_API_VERSION``.

Each command is a module in :mod:`berth.cli.commands` with a ``COMMAND`` spec
(:class:`berth.cli.args.Command`) and ``run(cli, opts, args) -> int``; it is imported only
when invoked, so the CLI's start costs only what the command uses. Exit status as
docker's: 0 ok; 125 a bad flag; 1 bad arguments, an unknown command, a daemon error or an
unreachable daemon (commands that run containers will use 125 for daemon errors, as
``docker run`` does; see :data:`berth.cli.context.DAEMON_ERROR_STATUS`).
"""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag, UsageError, check_nargs, flags_help, help_text, parse
from berth.cli.context import DEFAULT_HOST, Cli, CliError

__all__ = ["COMMANDS", "GROUPS", "main"]

# name → (module under berth.cli.commands, one-line description)
COMMANDS: dict[str, tuple[str, str]] = {
    "version": ("version", "Show the berth version information"),
    "info": ("info", "Display system-wide information"),
    "pull": ("pull", "Download an image from a registry"),
    "push": ("push", "Upload an image to a registry"),
    "login": ("login", "Log in to a registry"),
    "logout": ("logout", "Log out from a registry"),
    "images": ("images", "List images"),
    "tag": ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": ("rmi", "Remove one or more images"),
    "history": ("history", "Show the history of an image"),
    "save": ("save", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "load": ("load", "Load an image from a tar archive or STDIN"),
    "import": ("import_", "Import the contents from a tarball to create a filesystem image"),
    "build": ("build", "Build an image from a Dockerfile"),
    "run": ("run", "Create and run a new container from an image"),
    "create": ("create", "Create a new container"),
    "start": ("start", "Start one or more stopped containers"),
    "attach": ("attach", "Attach local standard input, output, and error streams to a running container"),
    "exec": ("exec_", "Execute a command in a running container"),
    "wait": ("wait", "Block until one or more containers stop, then print their exit codes"),
    "logs": ("logs", "Fetch the logs of a container"),
    "ps": ("ps", "List containers"),
    "inspect": ("inspect", "Return low-level information on berth objects"),
    "stop": ("stop", "Stop one or more running containers"),
    "kill": ("kill", "Kill one or more running containers"),
    "restart": ("restart", "Restart one or more containers"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "rm": ("rm", "Remove one or more containers"),
    "rename": ("rename", "Rename a container"),
    "update": ("update", "Update configuration of one or more containers"),
    "top": ("top", "Display the running processes of a container"),
    "port": ("port", "List port mappings or a specific mapping for the container"),
    "stats": ("stats", "Display a live stream of container(s) resource usage statistics"),
    "cp": ("cp", "Copy files/folders between a container and the local filesystem"),
    "diff": ("diff", "Inspect changes to files or directories on a container's filesystem"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "events": ("events", "Get real time events from the server"),
}

# management commands: group → (description, {sub: module})
GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "system": ("Manage berth", {"info": "info", "df": "system_df", "events": "events", "prune": "system_prune"}),
    "image": (
        "Manage images",
        {
            "pull": "pull",
            "push": "push",
            "ls": "images",
            "list": "images",
            "inspect": "image_inspect",
            "tag": "tag",
            "rm": "rmi",
            "remove": "rmi",
            "prune": "image_prune",
            "history": "history",
            "save": "save",
            "load": "load",
            "import": "import_",
            "build": "build",
        },
    ),
    "container": (
        "Manage containers",
        {
            "run": "run",
            "create": "create",
            "start": "start",
            "attach": "attach",
            "exec": "exec_",
            "wait": "wait",
            "logs": "logs",
            "ls": "ps",
            "list": "ps",
            "ps": "ps",
            "inspect": "container_inspect",
            "stop": "stop",
            "kill": "kill",
            "restart": "restart",
            "pause": "pause",
            "unpause": "unpause",
            "rm": "rm",
            "remove": "rm",
            "rename": "rename",
            "update": "update",
            "top": "top",
            "port": "port",
            "stats": "stats",
            "cp": "cp",
            "diff": "diff",
            "commit": "commit",
            "export": "export",
            "prune": "container_prune",
        },
    ),
    "volume": (
        "Manage volumes",
        {
            "create": "volume_create",
            "ls": "volume_ls",
            "list": "volume_ls",
            "inspect": "volume_inspect",
            "rm": "volume_rm",
            "remove": "volume_rm",
            "prune": "volume_prune",
        },
    ),
    "builder": ("Manage builds", {"build": "build", "prune": "builder_prune"}),
    "network": (
        "Manage networks",
        {
            "connect": "network_connect",
            "create": "network_create",
            "disconnect": "network_disconnect",
            "inspect": "network_inspect",
            "ls": "network_ls",
            "list": "network_ls",
            "prune": "network_prune",
            "rm": "network_rm",
            "remove": "network_rm",
        },
    ),
}

GLOBAL_FLAGS = [
    Flag("host,H", "string", help="Daemon socket to connect to (env BERTH_HOST)", metavar="string"),
    Flag("debug,D", help="Enable debug mode"),
    Flag("log-level,l", "string", "info", 'Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    Flag("version,v", help="Print version information and quit"),
    Flag("help,h", help="Print usage", hidden=True),
]

ROOT = Command("berth [OPTIONS] COMMAND", "A container engine built from Linux parts", GLOBAL_FLAGS, (0, None), False)


def _root_help() -> str:
    lines = ["Usage:  berth [OPTIONS] COMMAND", "", ROOT.short, "", "Common Commands:"]
    lines += [f"  {name:<11} {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += ["", "Management Commands:"]
    lines += [f"  {name:<11} {desc}" for name, (desc, _) in GROUPS.items()]
    lines += ["", "Global Options:", *flags_help(GLOBAL_FLAGS)]
    lines += ["", "Run 'berth COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def _group_help(name: str) -> str:
    desc, subs = GROUPS[name]
    lines = [f"Usage:  berth {name} COMMAND", "", desc, "", "Commands:"]
    for sub, module in subs.items():
        short = COMMANDS.get(module, ("", ""))[1]
        if not short:
            short = __import__(f"berth.cli.commands.{module}", fromlist=["COMMAND"]).COMMAND.short
        lines.append(f"  {sub:<11} {short}")
    lines += ["", f"Run 'berth {name} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def _usage_error(err: UsageError, path: str, use: str) -> int:
    sys.stderr.write(f"{err}\n\nUsage:  {use}\n\nRun '{path} --help' for more information\n")
    return err.status


def _resolve(args: list[str]) -> tuple[str, str, list[str]] | None:
    """(command path, module, remaining args), or None for an unknown command."""
    name = args[0]
    if name in COMMANDS:
        return f"berth {name}", COMMANDS[name][0], args[1:]
    if name in GROUPS:
        if len(args) < 2 or args[1] in ("--help", "-h"):
            return f"berth {name}", "", args[1:]
        sub = args[1]
        module = GROUPS[name][1].get(sub)
        if module is None:
            return None
        return f"berth {name} {sub}", module, args[2:]
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        gopts, rest = parse(args, GLOBAL_FLAGS, interspersed=False)
    except UsageError as err:
        return _usage_error(err, "berth", ROOT.use)
    if gopts["version"]:
        from berth.buildinfo import VERSION, git_commit

        commit = git_commit()
        sys.stdout.write(f"berth version {VERSION}{', build ' + commit if commit else ''}\n")
        return 0
    if gopts["help"] or not rest:
        sys.stdout.write(_root_help())
        return 0
    found = _resolve(rest)
    if found is None:
        sys.stderr.write(f"berth: unknown command: berth {' '.join(rest[:2] if rest[0] in GROUPS else rest[:1])}\n\n")
        sys.stderr.write("Run 'berth --help' for more information\n")
        return 1
    path, module_name, cargs = found
    if not module_name:
        sys.stdout.write(_group_help(path.split()[1]))
        return 0
    module = __import__(f"berth.cli.commands.{module_name}", fromlist=["run"])
    cmd: Command = module.COMMAND
    use = f"{path.rsplit(' ', 1)[0]} {cmd.use}"
    # -h is help unless the command uses it (run -h is --hostname, as in docker)
    short_h = not any(f.short == "h" for f in cmd.flags)
    flags = [*cmd.flags, Flag("help,h" if short_h else "help", help="Print usage", hidden=True)]
    try:
        opts, cargs = parse(cargs, flags, cmd.interspersed)
        if opts.pop("help"):
            sys.stdout.write(help_text(path, cmd))
            return 0
        check_nargs(cmd, path, cargs)
    except UsageError as err:
        if err.status == 1:
            err = UsageError(f"berth: {err}", 1)
        return _usage_error(err, path, use)
    import os

    host = gopts["host"] or os.environ.get("BERTH_HOST") or DEFAULT_HOST
    cli = Cli(host, debug=gopts["debug"], api_version=os.environ.get("BERTH_API_VERSION") or None)
    try:
        status: int = module.run(cli, opts, cargs)
        return status
    except CliError as err:
        if err.args and err.args[0]:
            sys.stderr.write(f"{err.args[0]}\n")
        return err.status
    except KeyboardInterrupt:
        return 130
    finally:
        cli.close()


if __name__ == "__main__":
    sys.exit(main())
