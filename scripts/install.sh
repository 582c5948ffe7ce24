#!/usr/bin/env bash
# Idempotent set-up: the Debian packages berth needs, a venv in .venv with berth installed
# (editable), and lean launchers for the commands that must start fast.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

# What berth uses on the host, and the peers the tests and benchmarks compare against.
pkgs=(busybox-static libseccomp2 python3-venv iproute2 nftables iptables util-linux procps runc crun tini curl)
peers=(docker.io docker-compose containerd podman skopeo docker-registry hyperfine apache2-utils)
want=("${pkgs[@]}")
if [ "${BERTH_NO_PEERS:-0}" != 1 ]; then want+=("${peers[@]}"); fi
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install: missing Debian packages (${missing[*]}); run as root" >&2
        exit 1
    fi
    echo "install: apt-get install ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# The system python (not a pyenv shim: that costs ~70 ms per start).
py=/usr/bin/python3
if [ ! -x .venv/bin/python3 ]; then
    "$py" -m venv .venv
fi
stamp=.venv/.berth-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log=$(mktemp)
    if ! { .venv/bin/pip install -q --disable-pip-version-check --upgrade pip setuptools &&
           .venv/bin/pip install -q --disable-pip-version-check \
               --config-settings editable_mode=compat -e ".[dev]"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "install: pip failed" >&2
        exit 1
    fi
    rm -f "$log"
    touch "$stamp"
fi

# pip's console-script wrappers import `re` (~5 ms) before our code runs. The commands on
# the hot path get a two-line launcher instead: no site, our source on sys.path.
launcher() {  # name module [python flags, default -SE]
    local dst=.venv/bin/$1 flags=${3:--SE}
    cat > "$dst.tmp" <<LAUNCH
#!$here/.venv/bin/python3 $flags
import sys
sys.path.insert(0, "$here/src")
from $2 import main
sys.exit(main())
LAUNCH
    chmod 0755 "$dst.tmp"
    mv -f "$dst.tmp" "$dst"
}
launcher berth-runtime berth.ocicli.main
launcher berth berth.cli.main
# berth-shim: one per running container, so its start and its memory are both on the budget.
launcher berth-shim berth.shim.main
# berthd keeps site (-E only): its third-party dependencies live in the venv's site-packages.
launcher berthd berth.daemon.main -E
# Byte-compile now: the launchers run with -E, so PYTHONDONTWRITEBYTECODE in a caller's
# environment cannot make every start recompile berth.
.venv/bin/python3 -m compileall -q src/berth >/dev/null
echo "install: ok ($here/.venv)"
