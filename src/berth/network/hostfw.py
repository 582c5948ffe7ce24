"""A hole for berth's bridges in the host's iptables FORWARD chain, when that chain drops.

nftables evaluates every base chain on a hook, and a packet passes only if none drops it:
berth's ``accept`` in ``table inet berth`` cannot overrule a ``policy drop`` in another
table. Such a policy is common — dockerd sets iptables' FORWARD policy to DROP when it
starts, firewalld and many host firewalls do the same — and it would cut every berth
container off from the world and from its published ports.

So when iptables' (or ip6tables') FORWARD chain has policy DROP, berth inserts, first in
FORWARD, a jump to a chain of its own (``BERTH-FORWARD``) that accepts what enters or
leaves a berth bridge. The filtering that matters (isolation between networks, internal
networks, published-port policy) stays in berth's own table, which still sees every
packet: this chain only keeps the host's generic drop from undoing it. With policy ACCEPT
nothing is added, and :func:`remove` takes the chain and its jump away.

Limit: a FORWARD policy set to DROP *after* berthd last synced (dockerd started later)
takes effect until berthd syncs again (a network or a published port changes, or berthd
restarts).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Sequence

from berth import errdefs

__all__ = ["chain_name", "remove", "sync"]

_TOOLS = ("iptables", "ip6tables")
_NAME = re.compile(r"^[A-Z][A-Z0-9_-]{0,27}$")


def chain_name(table: str) -> str:
    """``BERTH-FORWARD`` for berth's table ``berth`` (a test daemon's table gives its own)."""
    name = f"{table.upper()}-FORWARD"[:28]
    if not _NAME.match(name):
        raise errdefs.InvalidArgument(f"invalid iptables chain name {name!r}")
    return name


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, "-w", "5", *args], capture_output=True, text=True, check=False, timeout=30)


def _forward_rules(tool: str) -> list[str] | None:
    if shutil.which(tool) is None:
        return None
    p = _run(tool, "-S", "FORWARD")
    return p.stdout.splitlines() if p.returncode == 0 else None


def sync(table: str, bridges: Sequence[str]) -> list[str]:
    """Make the hole match ``bridges`` where FORWARD drops (or where berth's chain is
    already in place); the tools whose FORWARD chain now has berth's jump."""
    chain = chain_name(table)
    done = []
    for tool in _TOOLS:
        rules = _forward_rules(tool)
        if rules is None:
            continue
        jump = f"-A FORWARD -j {chain}"
        drops = "-P FORWARD DROP" in rules
        if not drops and jump not in rules:
            continue
        if not bridges:
            _remove_one(tool, chain)
            continue
        _run(tool, "-N", chain)  # exists already: fine
        script = [["-F", chain]]
        for br in bridges:
            script += [["-A", chain, "-i", br, "-j", "ACCEPT"], ["-A", chain, "-o", br, "-j", "ACCEPT"]]
        for args in script:
            p = _run(tool, *args)
            if p.returncode != 0:
                raise errdefs.Internal(f"{tool} {' '.join(args)}: {p.stderr.strip()}")
        if jump not in rules:
            p = _run(tool, "-I", "FORWARD", "1", "-j", chain)
            if p.returncode != 0:
                raise errdefs.Internal(f"{tool} -I FORWARD -j {chain}: {p.stderr.strip()}")
        done.append(tool)
    return done


def _remove_one(tool: str, chain: str) -> None:
    for _ in range(16):  # every copy of the jump, bounded
        if _run(tool, "-D", "FORWARD", "-j", chain).returncode != 0:
            break
    _run(tool, "-F", chain)
    _run(tool, "-X", chain)


def remove(table: str) -> None:
    """Take berth's chain and its jump out of FORWARD (nothing there: fine)."""
    chain = chain_name(table)
    for tool in _TOOLS:
        if shutil.which(tool) is not None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _remove_one(tool, chain)
