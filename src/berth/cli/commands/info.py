"""``berth info`` / ``berth system info``: the daemon's view of the host, as ``docker info``
prints it (cli/command/system/info.go)."""

from __future__ import annotations

from berth.buildinfo import VERSION
from berth.cli.args import Command
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "render_server", "run"]

COMMAND = Command(
    "info [OPTIONS]",
    "Display system-wide information",
    [FORMAT_FLAG],
    aliases=("berth system info", "berth info"),
)


def _go(v: Any) -> str:
    from berth.cli.format import go_str

    return go_str(v)


def render_client(debug: bool) -> str:
    from berth.cli.tabwriter import tabwrite

    text = f"Client:\n Version:\t{VERSION}\n Context:\tdefault\n Debug Mode:\t{_go(debug)}\n"
    return tabwrite(text, padding=1)


def render_server(info: dict[str, Any]) -> str:
    """The Server block (the warnings are printed apart, on stderr)."""
    from berth.cli.human import bytes_size

    out: list[str] = ["Server:"]

    def line(label: str, value: Any) -> None:
        out.append(f"{label} {_go(value)}")

    def nonempty(label: str, value: Any) -> None:
        if value not in ("", None):
            line(label, value)

    g = info.get
    line(" Containers:", g("Containers", 0))
    line("  Running:", g("ContainersRunning", 0))
    line("  Paused:", g("ContainersPaused", 0))
    line("  Stopped:", g("ContainersStopped", 0))
    line(" Images:", g("Images", 0))
    nonempty(" Server Version:", g("ServerVersion"))
    nonempty(" Storage Driver:", g("Driver"))
    for pair in g("DriverStatus") or []:
        if len(pair) == 2:
            out.append(f"  {pair[0]}: {pair[1]}")
    nonempty(" Logging Driver:", g("LoggingDriver"))
    nonempty(" Cgroup Driver:", g("CgroupDriver"))
    nonempty(" Cgroup Version:", g("CgroupVersion"))
    plugins = g("Plugins") or {}
    out.append(" Plugins:")
    out.append("  Volume: " + " ".join(plugins.get("Volume") or []))
    out.append("  Network: " + " ".join(plugins.get("Network") or []))
    if plugins.get("Authorization"):
        out.append("  Authorization: " + " ".join(plugins["Authorization"]))
    out.append("  Log: " + " ".join(plugins.get("Log") or []))
    line(" Swarm:", (g("Swarm") or {}).get("LocalNodeState", ""))
    runtimes = g("Runtimes") or {}
    if runtimes:
        out.append(" Runtimes: " + " ".join(sorted(runtimes)))
        line(" Default Runtime:", g("DefaultRuntime", ""))
    options = g("SecurityOptions") or []
    if options:
        out.append(" Security Options:")
        for opt in options:
            kv = dict(p.split("=", 1) for p in opt.split(",") if "=" in p)
            out.append("  " + kv.get("name", opt))
            if "profile" in kv:
                out.append("   Profile: " + kv["profile"])
    nonempty(" Kernel Version:", g("KernelVersion"))
    nonempty(" Operating System:", g("OperatingSystem"))
    nonempty(" OSType:", g("OSType"))
    nonempty(" Architecture:", g("Architecture"))
    line(" CPUs:", g("NCPU", 0))
    line(" Total Memory:", bytes_size(float(g("MemTotal") or 0)))
    nonempty(" Name:", g("Name"))
    nonempty(" ID:", g("ID"))
    line(" Berth Root Dir:", g("DockerRootDir", ""))
    line(" Debug Mode:", bool(g("Debug")))
    if g("Debug"):
        line("  File Descriptors:", g("NFd", 0))
        line("  Threads:", g("NGoroutines", 0))
        line("  System Time:", g("SystemTime", ""))
        line("  EventsListeners:", g("NEventsListener", 0))
    nonempty(" HTTP Proxy:", g("HttpProxy"))
    nonempty(" HTTPS Proxy:", g("HttpsProxy"))
    nonempty(" No Proxy:", g("NoProxy"))
    labels = g("Labels") or []
    if labels:
        out.append(" Labels:")
        out += ["  " + lbl for lbl in labels]
    line(" Experimental:", bool(g("ExperimentalBuild")))
    reg = g("RegistryConfig") or {}
    cidrs = reg.get("InsecureRegistryCIDRs") or []
    indexes = reg.get("IndexConfigs") or {}
    if cidrs or indexes:
        out.append(" Insecure Registries:")
        out += ["  " + x.get("Name", k) for k, x in indexes.items() if not x.get("Secure", True)]
        out += ["  " + c for c in cidrs]
    mirrors = reg.get("Mirrors") or []
    if mirrors:
        out.append(" Registry Mirrors:")
        out += ["  " + m for m in mirrors]
    line(" Live Restore Enabled:", bool(g("LiveRestoreEnabled")))
    return "\n".join(out) + "\n\n"


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    template = None
    if opts["format"]:
        from berth.cli.format import FormatError, Template

        try:
            template = Template(opts["format"])
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    info: dict[str, Any] | None = None
    failure: CliError | None = None
    try:
        info = cli.client.info()
    except BerthError as exc:
        failure = cli.error(exc)
    except CliError as exc:
        failure = exc
    if template is not None:
        from berth.cli.format import FormatError

        data = dict(info or {})
        data["ClientInfo"] = {"Debug": cli.debug, "Version": VERSION, "Context": "default", "Plugins": [], "Warnings": None}
        if failure is not None:
            raise failure
        try:
            cli.out.write(template.execute(data) + "\n")
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
        return 0
    cli.out.write(render_client(cli.debug) + "\n")
    if failure is not None:
        cli.out.write("Server:\n")
        cli.out.flush()
        raise failure
    assert info is not None
    cli.out.write(render_server(info))
    for warning in info.get("Warnings") or []:
        cli.err.write(warning + "\n")
    return 0
