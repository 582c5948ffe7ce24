"""``berth version``: the client's and the daemon's versions, as ``docker version``."""

from __future__ import annotations

from berth.buildinfo import VERSION, git_commit, go_arch, python_version
from berth.cli.args import Command
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "client_version", "render_text", "run"]

COMMAND = Command("version [OPTIONS]", "Show the berth version information", [FORMAT_FLAG])


def client_version(api_version: str, default_api_version: str) -> dict[str, Any]:
    """The client block, keyed as ``docker version --format json`` shows it."""
    return {
        "Version": VERSION,
        "ApiVersion": api_version,
        "DefaultAPIVersion": default_api_version,
        "GitCommit": git_commit(),
        "GoVersion": python_version(),
        "Os": "linux",
        "Arch": go_arch(),
        "BuildTime": "",
        "Context": "default",
    }


def render_text(client: dict[str, Any], server: dict[str, Any] | None) -> str:
    """docker's default version template, laid out by its tabwriter (minwidth 20)."""
    from berth.cli.tabwriter import tabwrite

    api = client["ApiVersion"]
    if api != client["DefaultAPIVersion"]:
        api += f" (downgraded from {client['DefaultAPIVersion']})"
    lines = [
        "Client:",
        f" Version:\t{client['Version']}",
        f" API version:\t{api}",
        f" Python version:\t{client['GoVersion']}",
        f" Git commit:\t{client['GitCommit']}",
        f" Built:\t{client['BuildTime']}",
        f" OS/Arch:\t{client['Os']}/{client['Arch']}",
        f" Context:\t{client['Context']}",
    ]
    if server is not None:
        name = (server.get("Platform") or {}).get("Name") or ""
        lines += ["", f"Server:{' ' + name if name else ''}"]
        for comp in server.get("Components") or []:
            details = comp.get("Details") or {}
            lines.append(f" {comp.get('Name', '')}:")
            if comp.get("Name") == "Engine":
                lines += [
                    f"  Version:\t{comp.get('Version', '')}",
                    f"  API version:\t{details.get('ApiVersion', '')} (minimum version {details.get('MinAPIVersion', '')})",
                    f"  Python version:\t{details.get('GoVersion', '')}",
                    f"  Git commit:\t{details.get('GitCommit', '')}",
                    f"  Built:\t{details.get('BuildTime', '')}",
                    f"  OS/Arch:\t{details.get('Os', '')}/{details.get('Arch', '')}",
                    f"  Experimental:\t{details.get('Experimental', '')}",
                ]
            else:
                lines.append(f"  Version:\t{comp.get('Version', '')}")
                lines += [f"  {k}:\t{details[k]}" for k in sorted(details)]
    return tabwrite("\n".join(lines) + "\n", minwidth=20, padding=1)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    template = None
    if opts["format"]:
        from berth.cli.format import FormatError, Template

        try:
            template = Template(opts["format"])
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    from berth.api.wire import API_VERSION

    server = None
    failure: CliError | None = None
    api_version = API_VERSION
    try:
        client = cli.client
        server = client.version()
        api_version = client.api_version
    except BerthError as exc:
        failure = cli.error(exc)
    except CliError as exc:
        failure = exc
    data = client_version(api_version, API_VERSION)
    if template is not None:
        from berth.cli.format import FormatError

        try:
            cli.out.write(template.execute({"Client": data, "Server": server}) + "\n")
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    else:
        cli.out.write(render_text(data, server))
    if failure is not None:
        raise failure
    return 0
