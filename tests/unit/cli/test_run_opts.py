"""run/create flags → the create body: byte for byte against the recorded docker CLI
bodies, and docker's wording for bad values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from berth.cli.args import parse
from berth.cli.commands._container_opts import (
    CONTAINER_FLAGS,
    FlagValueError,
    OptsError,
    build,
    go_json,
    parse_mount,
    parse_ports,
)
from berth.cli.commands._units import go_duration, ram_in_bytes, rational_nanos, timestamp

TRACES = Path("/work/shared/api-traces")


def _recorded(name: str) -> str:
    m = re.search(r'\n(\{"Hostname".*)\n', (TRACES / name).read_text())
    assert m is not None
    return m.group(1)


def _body(argv: list[str], size: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    opts, args = parse(argv, CONTAINER_FLAGS, False)
    return build(opts, args, size).body


needs_traces = pytest.mark.skipif(not TRACES.exists(), reason="api traces not present")


@needs_traces
@pytest.mark.parametrize(
    ("trace", "argv", "size"),
    [
        ("create.txt", "--name apic-c1 busybox sleep 300".split(), (0, 0)),
        (
            "run_d_opts.txt",
            (
                "-d --name apic-d -p 18080:80 -p 127.0.0.1:18081:81/udp -v apic-vol:/data -v /home/user/demo:/host:ro "
                "-e FOO=bar --network apic-net --memory 64m --cpus 0.5 --cap-drop NET_RAW --label k=v busybox sleep 300"
            ).split(),
            (0, 0),
        ),
        ("run_fg_rm.txt", ["--rm", "busybox", "sh", "-c", "echo hello-out; echo hello-err >&2; exit 7"], (0, 0)),
        ("run_it_rm.txt", "-it --rm --name apic-it busybox sh".split(), (40, 120)),
    ],
)
def test_body_is_byte_identical_to_the_docker_cli(trace: str, argv: list[str], size: tuple[int, int]) -> None:
    opts, args = parse(argv, CONTAINER_FLAGS, False)
    assert go_json(build(opts, args, size).body).decode() == _recorded(trace)


def test_name_and_platform_go_to_the_query() -> None:
    opts, args = parse(["--name", "x", "--platform", "linux/arm64", "busybox"], CONTAINER_FLAGS, False)
    req = build(opts, args)
    assert (req.name, req.platform, req.image) == ("x", "linux/arm64", "busybox")
    assert "name" not in req.body


def test_resource_flags() -> None:
    b = _body(
        [
            "-m", "1.5g", "--memory-swap", "-1", "--memory-reservation", "512m", "--memory-swappiness", "10",
            "-c", "512", "--cpu-period", "100000", "--cpu-quota", "50000", "--cpuset-cpus", "0-1", "--cpuset-mems", "0",
            "--pids-limit", "100", "--blkio-weight", "300", "--blkio-weight-device", "/dev/sda:200",
            "--device-read-bps", "/dev/sda:1mb", "--device-write-iops", "/dev/sda:100", "--shm-size", "64m",
            "--kernel-memory", "8m", "--oom-kill-disable", "--oom-score-adj", "-500", "--ulimit", "nofile=1024:2048",
            "--device", "/dev/fuse", "--device", "/dev/sda:/dev/xvda:r", "--device-cgroup-rule", "c 1:3 mr",
            "busybox",
        ]
    )
    h = b["HostConfig"]
    assert h["Memory"] == 1610612736 and h["MemorySwap"] == -1 and h["MemoryReservation"] == 512 << 20
    assert h["MemorySwappiness"] == 10 and h["CpuShares"] == 512 and h["CpuPeriod"] == 100000 and h["CpuQuota"] == 50000
    assert (h["CpusetCpus"], h["CpusetMems"], h["PidsLimit"], h["BlkioWeight"]) == ("0-1", "0", 100, 300)
    assert h["BlkioWeightDevice"] == [{"Path": "/dev/sda", "Weight": 200}]
    assert h["BlkioDeviceReadBps"] == [{"Path": "/dev/sda", "Rate": 1 << 20}]
    assert h["BlkioDeviceWriteIOps"] == [{"Path": "/dev/sda", "Rate": 100}]
    assert (h["ShmSize"], h["KernelMemory"], h["OomKillDisable"], h["OomScoreAdj"]) == (64 << 20, 8 << 20, True, -500)
    assert h["Ulimits"] == [{"Name": "nofile", "Hard": 2048, "Soft": 1024}]
    assert h["Devices"] == [
        {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/xvda", "CgroupPermissions": "r"},
    ]
    assert h["DeviceCgroupRules"] == ["c 1:3 mr"]
    keys = list(h)
    assert keys.index("KernelMemory") == keys.index("DeviceRequests") + 1


def test_config_and_namespace_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nA=1\n\nFROM_HOST\nMISSING\n")
    label_file = tmp_path / "labels"
    label_file.write_text("team=core\nflag\n")
    monkeypatch.setenv("FROM_HOST", "yes")
    b = _body(
        [
            "--env-file", str(env_file), "-e", "B=2", "-e", "FROM_HOST", "-w", "/srv", "--entrypoint", "",
            "-u", "1000:1000", "-h", "box", "--domainname", "example.org", "-l", "a=b", "--label-file", str(label_file),
            "--restart", "on-failure:3", "--init", "--stop-signal", "SIGINT", "--stop-timeout", "5", "--read-only",
            "--tmpfs", "/run:rw,size=64m", "--tmpfs", "/tmp", "--volumes-from", "other:ro", "--cap-add", "sys_admin",
            "--cap-add", "ALL", "--privileged", "--security-opt", "no-new-privileges", "--security-opt", "label:disable",
            "--userns", "host", "--uts", "host", "--pid", "host", "--ipc", "private", "--cgroupns", "private",
            "--cgroup-parent", "/mine", "--sysctl", "net.ipv4.ip_forward=1", "--runtime", "crun", "--group-add", "audio",
            "--log-driver", "json-file", "--log-opt", "max-size=10m", "--dns", "1.1.1.1", "--dns-search", "x.org",
            "--dns-option", "ndots:2", "--add-host", "db:10.0.0.2", "--add-host", "h=10.0.0.3", "--mac-address",
            "92:d0:c6:0a:29:33", "--health-on-failure", "restart",
            "busybox",
        ]
    )
    h = b["HostConfig"]
    assert b["Env"] == ["A=1", "FROM_HOST=yes", "B=2", "FROM_HOST=yes"]
    assert (b["WorkingDir"], b["Entrypoint"], b["User"], b["Hostname"], b["Domainname"]) == ("/srv", [""], "1000:1000", "box", "example.org")
    assert b["Labels"] == {"team": "core", "flag": "", "a": "b"}
    assert (b["StopSignal"], b["StopTimeout"], b["MacAddress"]) == ("SIGINT", 5, "92:d0:c6:0a:29:33")
    assert h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (h["Init"], h["ReadonlyRootfs"], h["Privileged"]) == (True, True, True)
    assert h["Tmpfs"] == {"/run": "rw,size=64m", "/tmp": ""}
    assert h["VolumesFrom"] == ["other:ro"] and h["CapAdd"] == ["CAP_SYS_ADMIN", "ALL"]
    assert h["SecurityOpt"] == ["no-new-privileges", "label=disable"]
    assert (h["UsernsMode"], h["UTSMode"], h["PidMode"], h["IpcMode"], h["CgroupnsMode"]) == ("host", "host", "host", "private", "private")
    assert (h["CgroupParent"], h["Sysctls"], h["Runtime"], h["GroupAdd"]) == ("/mine", {"net.ipv4.ip_forward": "1"}, "crun", ["audio"])
    assert h["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m"}}
    assert (h["Dns"], h["DnsSearch"], h["DnsOptions"]) == (["1.1.1.1"], ["x.org"], ["ndots:2"])
    assert h["ExtraHosts"] == ["db:10.0.0.2", "h:10.0.0.3"]
    assert h["HealthOnFailure"] == "restart"
    assert "Entrypoint" in b and _body(["busybox"])["Entrypoint"] is None
    assert "StopTimeout" not in _body(["busybox"])


def test_seccomp_profile_is_sent_inline(tmp_path: Path) -> None:
    p = tmp_path / "prof.json"
    p.write_text('{ "defaultAction": "SCMP_ACT_ALLOW" }')
    b = _body(["--security-opt", f"seccomp={p}", "busybox"])
    assert b["HostConfig"]["SecurityOpt"] == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']


def test_healthcheck_flags() -> None:
    b = _body(["--health-cmd", "true", "--health-interval", "30s", "--health-timeout", "1m30s", "--health-retries", "3",
               "--health-start-period", "5s", "--health-start-interval", "500ms", "busybox"])
    assert b["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 30 * 10**9, "Timeout": 90 * 10**9, "StartPeriod": 5 * 10**9,
        "StartInterval": 500 * 10**6, "Retries": 3,
    }
    assert list(b).index("Healthcheck") == list(b).index("Cmd") + 1
    assert _body(["--no-healthcheck", "busybox"])["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(OptsError, match="--no-healthcheck conflicts with --health-\\* options"):
        _body(["--no-healthcheck", "--health-cmd", "x", "busybox"])
    with pytest.raises(OptsError, match="--health-interval cannot be negative"):
        _body(["--health-interval", "-1s", "busybox"])


def test_networking_options() -> None:
    b = _body(["--network", "appnet", "--network-alias", "web", "--ip", "10.1.0.5", "--link", "db:db", "busybox"])
    ep = b["NetworkingConfig"]["EndpointsConfig"]["appnet"]
    assert ep["Aliases"] == ["web"] and ep["IPAMConfig"] == {"IPv4Address": "10.1.0.5"} and ep["Links"] == ["db:db"]
    assert b["HostConfig"]["NetworkMode"] == "appnet" and b["HostConfig"]["Links"] == ["db:db"]
    assert _body(["--net", "host", "busybox"])["NetworkingConfig"] == {"EndpointsConfig": {}}
    assert _body(["busybox"])["NetworkingConfig"]["EndpointsConfig"]["default"]["Aliases"] is None


def test_publish_ranges_ipv6_expose_and_publish_all() -> None:
    _, bindings = parse_ports(["8000-8002:80-82", "[::1]:9000:90/udp", "7000-7010:70", "53/sctp"])
    assert bindings["80/tcp"] == [{"HostIp": "", "HostPort": "8000"}]
    assert bindings["82/tcp"] == [{"HostIp": "", "HostPort": "8002"}]
    assert bindings["90/udp"] == [{"HostIp": "::1", "HostPort": "9000"}]
    assert bindings["70/tcp"] == [{"HostIp": "", "HostPort": "7000-7010"}]
    assert bindings["53/sctp"] == [{"HostIp": "", "HostPort": ""}]
    b = _body(["-P", "--expose", "3000-3001", "--expose", "5000/udp", "busybox"])
    assert b["ExposedPorts"] == {"3000/tcp": {}, "3001/tcp": {}, "5000/udp": {}}
    assert b["HostConfig"]["PublishAllPorts"] is True


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x:80", "invalid hostPort: x"),
        ("80:y", "invalid containerPort: y"),
        ("1.2.3:80:80", "invalid IP address: 1.2.3"),
        ("80/foo", "invalid proto: foo"),
        ("8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"),
        ("80:", "no port specified: 80:<empty>"),
    ],
)
def test_publish_errors(spec: str, message: str) -> None:
    with pytest.raises(OptsError) as e:
        parse_ports([spec])
    assert str(e.value) == message


def test_volumes_and_mounts() -> None:
    b = _body(["-v", "/data", "-v", "./rel:/rel", "--mount", "type=bind,src=/src,dst=/dst,readonly,bind-propagation=rshared",
               "--mount", "source=vol,target=/v,volume-nocopy,volume-opt=type=nfs",
               "--mount", "type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770", "busybox"])
    assert b["Volumes"] == {"/data": {}}
    assert b["HostConfig"]["Binds"][0].endswith("/rel:/rel") and b["HostConfig"]["Binds"][0].startswith("/")
    assert b["HostConfig"]["Mounts"] == [
        {"Type": "bind", "Source": "/src", "Target": "/dst", "ReadOnly": True, "BindOptions": {"Propagation": "rshared"}},
        {"Type": "volume", "Source": "vol", "Target": "/v", "VolumeOptions": {"NoCopy": True, "DriverConfig": {"Options": {"type": "nfs"}}}},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 64 << 20, "Mode": 0o1770}},
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("type=bind,src=/a", "target is required"),
        ("type=bind,src=/a,dst=/b,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
        ("type=volume,dst=/b,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'"),
        ("dst=/b,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
        ("dst=/b,nokey", "invalid field 'nokey' must be a key=value pair"),
        ("type=tmpfs,dst=/b,tmpfs-size=big", "invalid value for tmpfs-size: big"),
    ],
)
def test_mount_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_mount(spec)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "lots"], """invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'"""),
        (["--memory-swap", "-2"], """invalid argument "-2" for "--memory-swap" flag: invalid size: '-2'"""),
        (["--cpus", "abc"], """invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number"""),
        (["--cpus", "0.0000000001"], """invalid argument "0.0000000001" for "--cpus" flag: value is too precise"""),
        (["-c", "x"], """invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax"""),
        (["--health-interval", "10"], """invalid argument "10" for "--health-interval" flag: time: missing unit in duration "10\""""),
        (["--ulimit", "nofile"], """invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile"""),
        (["-a", "stdweird"], """invalid argument "stdweird" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR"""),
        (["--mount", "type=bind"], """invalid argument "type=bind" for "--mount" flag: target is required"""),
    ],
)
def test_typed_flag_errors_are_worded_as_pflag(argv: list[str], message: str) -> None:
    with pytest.raises(FlagValueError) as e:
        _body([*argv, "busybox"])
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-d", "-a", "stdout"], "Conflicting options: -a and -d"),
        (["--rm", "--restart", "always"], "Conflicting options: --restart and --rm"),
        (["--restart", ":3"], "invalid restart policy format: no policy provided before colon"),
        (["--pull", "sometimes"], "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""),
        (["--memory-swappiness", "101"], "invalid value: 101. Valid memory swappiness range is 0-100"),
        (["--expose", "1:2"], "invalid port format for --expose: 1:2"),
    ],
)
def test_inconsistent_options(argv: list[str], message: str) -> None:
    with pytest.raises(OptsError) as e:
        _body([*argv, "busybox"])
    assert str(e.value) == message


def test_attach_flags_choose_streams() -> None:
    b = _body(["-a", "STDERR", "busybox"])
    assert (b["AttachStdin"], b["AttachStdout"], b["AttachStderr"]) == (False, False, True)
    b = _body(["-i", "busybox"])
    assert (b["AttachStdin"], b["OpenStdin"], b["StdinOnce"]) == (True, True, True)
    b = _body(["-d", "-i", "busybox"])
    assert (b["AttachStdin"], b["AttachStdout"], b["OpenStdin"], b["StdinOnce"]) == (False, False, True, False)


@pytest.mark.parametrize(
    ("value", "n"),
    [("512m", 512 << 20), ("1g", 1 << 30), ("1.5g", 1610612736), ("10", 10), ("64MiB", 64 << 20), ("2 kb", 2048), ("1T", 1 << 40)],
)
def test_ram_in_bytes(value: str, n: int) -> None:
    assert ram_in_bytes(value) == n


@pytest.mark.parametrize("value", ["", "m", "1x", "-1", "1..2m", "1.m"])
def test_ram_in_bytes_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        ram_in_bytes(value)


def test_go_durations_and_rationals() -> None:
    assert go_duration("1m30s") == 90 * 10**9
    assert go_duration("1.5h") == 5400 * 10**9
    assert go_duration("300ms") == 300 * 10**6
    assert go_duration("0") == 0
    with pytest.raises(ValueError, match='time: unknown unit "x" in duration "3x"'):
        go_duration("3x")
    with pytest.raises(ValueError, match='time: invalid duration "abc"'):
        go_duration("abc")
    assert rational_nanos("1.5") == 1_500_000_000
    assert rational_nanos("1/4") == 250_000_000


def test_log_timestamps_as_the_docker_client_sends_them() -> None:
    assert timestamp("10m", 1000.0) == "400"
    assert timestamp("1700000000", 0) == "1700000000"
    assert timestamp("1700000000.5", 0) == "1700000000.5"
    assert timestamp("2026-11-27T21:05:05Z", 0) == "1795813505.000000000"
    assert timestamp("2026-11-27T21:05:05.25+01:00", 0) == "1795809905.250000000"
    with pytest.raises(ValueError, match='failed to parse value as time or duration: "soon"'):
        timestamp("soon", 0)


def test_body_json_matches_go_escaping() -> None:
    b = _body(["busybox", "sh", "-c", "a >&2 <x"])
    assert b'"a \\u003e\\u00262 \\u003cx"' in go_json(b)
    assert json.loads(go_json(b))["Cmd"][2] == "a >&2 <x"
