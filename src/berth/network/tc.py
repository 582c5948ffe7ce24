"""Per-container bandwidth limits, on the host side of the container's veth.

No engine limits a container's network (cgroups do not: net_cls/net_prio only tag
packets). berth shapes both directions with the kernel's traffic control (tc-tbf(8),
tc-mirred(8), ifb), configured over netlink with pyroute2, entirely on the host side of
the endpoint, so the container cannot undo it (it has no handle on the host's links even
with CAP_NET_ADMIN in its own namespace):

ingress to the container (``ingress_bps``)
    is what the host veth *transmits*. A ``tbf`` (token bucket filter) is its root qdisc:
    a classless shaper that queues packets beyond the rate and sends them as tokens
    accrue, so TCP sees delay rather than loss and settles at the rate. ``htb`` would do
    the same with a class tree berth does not need (one rate per endpoint).
egress from the container (``egress_bps``)
    is what the host veth *receives*. A device cannot queue what it receives, so the
    packets are redirected (an ``ingress`` qdisc, a u32 match-all filter, a ``mirred
    egress redirect`` action) to an ifb device, ``ib`` + the veth's suffix, which
    transmits them through its own ``tbf`` and hands them back to the stack as received
    on the veth (the bridge and the firewall see them as before). The alternative, a
    ``police`` action on the ingress qdisc, drops what exceeds the rate: TCP then
    saw-tooths well below the limit (dropping is not shaping), and the kernel may lack
    act_police altogether; the ifb shapes egress as accurately as tbf shapes ingress.

Rates are bits per second, like Docker's and tc's units, and count whole frames as tc
does: one TCP flow's payload gets ~95.6 % of the rate at MTU 1500 (measured: 7.70 Mbit/s
of payload under 8mbit). The bucket holds 20 ms at the rate (at least 16 KiB: a TSO
burst must fit, tbf segments larger GSO packets) and the queue at most 100 ms of delay;
a sender that fills it loses packets and retransmits (the development host's kernel has
no fq_codel to put under the tbf). ``limit`` replaces whatever berth set before; :func:`clear`
removes it all (and :func:`berth.network.links.disconnect` deletes the ifb).
"""

from __future__ import annotations

import errno
import re
from typing import TYPE_CHECKING, Any

from berth import errdefs
from berth.network import _nl
from berth.network.links import ifb_name

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = ["TBF_LATENCY_MS", "bucket_bytes", "clear", "limit", "parse_bandwidth", "parse_rate"]

TBF_LATENCY_MS = 100
_MIN_BUCKET = 16 * 1024
_MAX_BPS = (2**32 - 1) * 8  # tbf's 32-bit rate in bytes/s (TCA_TBF_RATE64 not used)
_ROOT = 0xFFFFFFFF
_INGRESS = 0xFFFF0000
_ETH_P_ALL = 0x0003


_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(bit|bps|b)?$", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_rate(text: str) -> int:
    """A rate as tc(8) writes it, in bits per second: ``10mbit``, ``500kbit``, ``1gbit``
    (bits, SI), ``2mbps`` (tc's *bytes* per second), a bare number (bit/s)."""
    m = _RATE.match(text.strip())
    if not m:
        raise errdefs.InvalidArgument(f"invalid rate {text!r}: want e.g. 10mbit, 500kbit, 1gbit")
    value = float(m.group(1)) * _SCALE[m.group(2).lower()]
    if (m.group(3) or "").lower() == "bps":
        value *= 8
    bps = int(value)
    _check(bps, "network")
    return bps


def parse_bandwidth(text: str) -> tuple[int | None, int | None]:
    """``--network-bandwidth``: one rate for both ways (``10mbit``), or per direction
    (``egress=10mbit,ingress=50mbit``; either may be left out); (egress, ingress) in
    bit/s, None where unlimited."""
    if "=" not in text:
        bps = parse_rate(text)
        return bps, bps
    out: dict[str, int] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("egress", "ingress") or key in out:
            raise errdefs.InvalidArgument(
                f"invalid network bandwidth {text!r}: want RATE or egress=RATE,ingress=RATE"
            )
        out[key] = parse_rate(value)
    return out.get("egress"), out.get("ingress")


def bucket_bytes(bps: int) -> int:
    """The token bucket for ``bps``: 20 ms of traffic, at least 16 KiB."""
    return max(bps // 8 // 50, _MIN_BUCKET)


def _check(bps: int | None, what: str) -> int | None:
    if bps is None or bps == 0:
        return None
    if not isinstance(bps, int) or bps < 8 or bps > _MAX_BPS:
        raise errdefs.InvalidArgument(f"invalid {what} bandwidth {bps!r}: want 8 to {_MAX_BPS} bit/s")
    return bps


def _tbf(ipr: IPRoute, index: int, bps: int) -> None:
    ipr.tc(
        "replace", "tbf", index, 0x10000,
        rate=f"{bps}bit", burst=bucket_bytes(bps), latency=f"{TBF_LATENCY_MS}ms",
    )  # fmt: skip


def _del_qdisc(ipr: IPRoute, index: int, parent: int) -> None:
    try:
        ipr.tc("del", index=index, parent=parent)
    except Exception as exc:  # none there: fine
        if not _nl.is_errno(exc, errno.ENOENT, errno.EINVAL, errno.ENODEV):
            raise


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def limit(host_veth: str, egress_bps: int | None, ingress_bps: int | None) -> None:
    """Limit the container behind ``host_veth``: what it sends to ``egress_bps`` and what
    it receives to ``ingress_bps`` (bits per second; None or 0 leaves that direction
    unlimited). Replaces earlier limits."""
    egress = _check(egress_bps, "egress")
    ingress = _check(ingress_bps, "ingress")
    ifb = ifb_name(host_veth)
    with _nl.route() as ipr:
        index = _index(ipr, host_veth)
        if index is None:
            raise errdefs.NotFound(f"link '{host_veth}' not found")
        what = f"limit bandwidth on '{host_veth}'"
        try:
            _clear(ipr, index, ifb)
            if ingress is not None:
                _tbf(ipr, index, ingress)
            if egress is not None:
                _redirect_to_ifb(ipr, index, ifb, egress)
        except Exception as exc:
            err = _nl.error(what, exc)
            try:
                _clear(ipr, index, ifb)
            except Exception as cleanup:  # reported with the first failure
                err.add_note(f"cleanup: {cleanup}")
            raise err from exc


def _redirect_to_ifb(ipr: IPRoute, index: int, ifb: str, bps: int) -> None:
    mtu = ipr.get_links(index)[0].get_attr("IFLA_MTU") or 1500
    ipr.link("add", ifname=ifb, kind="ifb", mtu=mtu)
    ifb_index = _index(ipr, ifb)
    if ifb_index is None:
        raise errdefs.Internal(f"create ifb '{ifb}': not found after creation")
    _tbf(ipr, ifb_index, bps)
    ipr.link("set", index=ifb_index, state="up")
    ipr.tc("add", "ingress", index, _INGRESS)
    action: dict[str, Any] = {"kind": "mirred", "direction": "egress", "action": "redirect", "ifindex": ifb_index}
    ipr.tc(
        "add-filter", "u32", index,
        parent=_INGRESS, prio=1, protocol=_ETH_P_ALL, target=0x10001,
        keys=["0x0/0x0+0"], action=action,
    )  # fmt: skip


def _clear(ipr: IPRoute, index: int, ifb: str) -> None:
    _del_qdisc(ipr, index, _ROOT)
    _del_qdisc(ipr, index, _INGRESS)
    try:
        ipr.link("del", ifname=ifb)
    except Exception as exc:
        if not _nl.is_errno(exc, errno.ENODEV, errno.ENOENT):
            raise


def clear(host_veth: str) -> None:
    """Remove berth's limits from ``host_veth`` (its qdiscs and its ifb); a link without
    limits is fine, a missing link is fine too (the endpoint is gone)."""
    ifb = ifb_name(host_veth)
    with _nl.route() as ipr:
        index = _index(ipr, host_veth)
        try:
            if index is not None:
                _clear(ipr, index, ifb)
            else:
                ipr.link("del", ifname=ifb)
        except Exception as exc:
            if index is None and _nl.is_errno(exc, errno.ENODEV, errno.ENOENT):
                return
            raise _nl.error(f"clear bandwidth limits on '{host_veth}'", exc) from exc
