from __future__ import annotations

from collections.abc import Callable

import pytest

from berth import errdefs
from berth.engine.containers.model import (
    BindOptions,
    ContainerConfig,
    HostConfig,
    Mount,
    TmpfsOptions,
    VolumeOptions,
)
from berth.engine.containers.mounts import (
    MountPlan,
    parse_bind,
    parse_tmpfs_options,
    plan_mounts,
    tmpfs_options_string,
)


def _exists(*paths: str) -> Callable[[str], bool]:
    present = set(paths)
    return lambda p: p in present


def _plan(
    config: ContainerConfig | None = None, exists: tuple[str, ...] = (), **host: object
) -> list[MountPlan]:
    return plan_mounts(config or ContainerConfig(), HostConfig(**host), _exists(*exists))  # type: ignore[arg-type]


# -v


def test_bind_with_absolute_source() -> None:
    plan = parse_bind("/srv/data:/data")
    assert (plan.type, plan.source, plan.destination) == ("bind", "/srv/data", "/data")
    assert plan.read_only is False
    assert plan.propagation == "rprivate"
    assert plan.create_source is True
    assert plan.mode == ""


def test_bind_options_ro_propagation_label() -> None:
    plan = parse_bind("/srv:/data:ro,rslave,Z")
    assert plan.read_only is True
    assert plan.propagation == "rslave"
    assert plan.relabel == "Z"
    assert plan.mode == "ro,rslave,Z"


def test_named_volume_with_nocopy() -> None:
    plan = parse_bind("cache:/var/cache:nocopy", volume_driver="local")
    assert (plan.type, plan.source, plan.no_copy, plan.volume_driver) == (
        "volume",
        "cache",
        True,
        "local",
    )
    assert plan.anonymous is False


def test_destination_only_is_anonymous_volume() -> None:
    plan = parse_bind("/data")
    assert plan.type == "volume"
    assert plan.anonymous is True


def test_local_volume_without_options_shows_mode_z() -> None:
    assert parse_bind("cache:/data").mode == "z"
    assert parse_bind("cache:/data:ro").mode == "ro"
    assert parse_bind("cache:/data", volume_driver="nfs-plugin").mode == ""
    (plan,) = _plan(mounts=[Mount(type="volume", source="vv", target="/y")])
    assert plan.mode == "z"


def test_destination_with_mode_only_is_invalid_spec() -> None:
    with pytest.raises(
        errdefs.InvalidArgument, match=r"^invalid volume specification: '/data:ro'$"
    ):
        parse_bind("/data:ro")


@pytest.mark.parametrize("raw", ["", ":/data", "/a:/b:ro:x"])
def test_malformed_bind_is_invalid_spec(raw: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^invalid volume specification: "):
        parse_bind(raw)


@pytest.mark.parametrize("mode", ["rx", "ro,rw", "z,Z", "shared,slave", "nocopy,nocopy"])
def test_invalid_mode(mode: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=f"^invalid mode: {mode}$"):
        parse_bind(f"/a:/b:{mode}")


def test_relative_destination_is_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        parse_bind("/a:data")
    assert exc.value.message == (
        "invalid volume specification: '/a:data': invalid mount config for type \"bind\": "
        "invalid mount path: 'data' mount path must be absolute"
    )


def test_root_destination_is_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="destination can't be '/'"):
        parse_bind("/a:/")


def test_relative_source_that_is_not_a_volume_name_is_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        parse_bind("./data:/data")
    assert exc.value.message.startswith(
        'create ./data: "./data" includes invalid characters for a local volume name'
    )
    assert exc.value.message.endswith("If you intended to pass a host directory, use absolute path")


def test_single_character_volume_name_is_rejected_by_local_driver() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r'^create v: "v" includes invalid'):
        parse_bind("v:/data")
    assert parse_bind("v:/data", volume_driver="nfs-plugin").source == "v"


def test_paths_are_cleaned() -> None:
    plan = parse_bind("/srv//x/:/data/")
    assert (plan.source, plan.destination) == ("/srv/x", "/data")


# --mount


def test_mount_bind_source_must_exist() -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        _plan(mounts=[Mount(type="bind", source="/x", target="/y")])
    assert exc.value.message == (
        'invalid mount config for type "bind": bind source path does not exist: /x'
    )


def test_mount_bind_existing_source() -> None:
    (plan,) = _plan(
        exists=("/x",),
        mounts=[Mount(type="bind", source="/x", target="/y", read_only=True,
                      bind_options=BindOptions(propagation="shared"))],
    )  # fmt: skip
    assert (plan.source, plan.read_only, plan.propagation, plan.create_source) == (
        "/x",
        True,
        "shared",
        False,
    )


def test_mount_bind_create_mountpoint_skips_existence_check() -> None:
    (plan,) = _plan(
        mounts=[Mount(type="bind", source="/x", target="/y",
                      bind_options=BindOptions(create_mountpoint=True))],
    )  # fmt: skip
    assert plan.create_source is True


def test_mount_target_must_be_absolute() -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        _plan(mounts=[Mount(type="volume", source="vv", target="y")])
    assert exc.value.message == (
        "invalid mount config for type \"volume\": invalid mount path: 'y' mount path must be absolute"
    )


def test_mount_bind_relative_source_is_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="invalid mount path: 'x' mount path must"):
        _plan(mounts=[Mount(type="bind", source="x", target="/y")])


def test_mount_bind_invalid_propagation() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="invalid propagation mode: weird"):
        _plan(
            exists=("/x",),
            mounts=[Mount(type="bind", source="/x", target="/y",
                          bind_options=BindOptions(propagation="weird"))],
        )  # fmt: skip


def test_mount_unknown_type() -> None:
    with pytest.raises(errdefs.InvalidArgument, match='type "npipe": mount type unknown'):
        _plan(mounts=[Mount(type="npipe", target="/y")])


def test_mount_volume_with_bind_options_is_extra_field() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="field BindOptions must not be specified"):
        _plan(mounts=[Mount(type="volume", source="vv", target="/y", bind_options=BindOptions())])


def test_mount_readonly_anonymous_volume_is_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="must not set ReadOnly mode"):
        _plan(mounts=[Mount(type="volume", target="/y", read_only=True)])


def test_mount_volume_options_are_carried() -> None:
    (plan,) = _plan(
        mounts=[Mount(type="volume", source="vv", target="/y",
                      volume_options=VolumeOptions(no_copy=True, labels={"a": "b"},
                                                   driver="local", subpath="sub"))],
    )  # fmt: skip
    assert (plan.no_copy, plan.labels, plan.volume_driver, plan.subpath) == (
        True,
        {"a": "b"},
        "local",
        "sub",
    )


def test_mount_volume_subpath_must_stay_inside() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="subpath must be a relative path"):
        _plan(
            mounts=[Mount(type="volume", source="vv", target="/y",
                          volume_options=VolumeOptions(subpath="../etc"))],
        )  # fmt: skip


def test_mount_tmpfs_with_source_is_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="field Source must not be specified"):
        _plan(mounts=[Mount(type="tmpfs", source="x", target="/t")])


def test_mount_tmpfs_options_become_oci_options() -> None:
    (plan,) = _plan(
        mounts=[Mount(type="tmpfs", target="/t", read_only=True,
                      tmpfs_options=TmpfsOptions(size_bytes=64 << 20, mode=0o1777))],
    )  # fmt: skip
    assert plan.options == ["noexec", "nosuid", "nodev", "rprivate", "ro", "mode=1777", "size=64m"]
    assert (plan.tmpfs_size, plan.tmpfs_mode, plan.read_only) == (64 << 20, 0o1777, True)


def test_tmpfs_options_string_picks_largest_even_unit() -> None:
    assert tmpfs_options_string(1 << 30, 0) == "size=1g"
    assert tmpfs_options_string(3 << 10, 0o755, read_only=True) == "ro,mode=755,size=3k"
    assert tmpfs_options_string(1000, 0) == "size=1000"


# --tmpfs and options


def test_tmpfs_defaults_are_noexec_nosuid_nodev() -> None:
    assert parse_tmpfs_options("") == (["noexec", "nosuid", "nodev", "rprivate"], 0, 0)


def test_tmpfs_size_and_mode() -> None:
    options, size, mode = parse_tmpfs_options("size=64m,mode=1777")
    assert options == ["noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"]
    assert (size, mode) == (64 * 1024 * 1024, 0o1777)


@pytest.mark.parametrize(("text", "expected"), [("100", 100), ("2k", 2048), ("1G", 1 << 30)])
def test_tmpfs_size_suffixes(text: str, expected: int) -> None:
    assert parse_tmpfs_options(f"size={text}")[1] == expected


def test_tmpfs_user_flag_overrides_default_of_same_kind() -> None:
    options, _, _ = parse_tmpfs_options("exec,ro,uid=1000,gid=1000")
    assert options == ["nosuid", "nodev", "rprivate", "exec", "ro", "uid=1000", "gid=1000"]


def test_tmpfs_later_data_option_wins() -> None:
    options, size, _ = parse_tmpfs_options("size=1m,size=2m")
    assert options[-1] == "size=2m"
    assert options.count("size=1m") == 0
    assert size == 2 << 20


def test_tmpfs_unknown_option() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r'^invalid tmpfs option \["foo"\]$'):
        parse_tmpfs_options("foo")
    with pytest.raises(errdefs.InvalidArgument, match=r'^invalid tmpfs option \["bar" "1"\]$'):
        parse_tmpfs_options("bar=1")


@pytest.mark.parametrize("opt", ["size=lots", "mode=999", "uid=bob"])
def test_tmpfs_bad_values(opt: str) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        parse_tmpfs_options(opt)


def test_host_config_tmpfs_becomes_plan() -> None:
    (plan,) = _plan(tmpfs={"/run": "size=1m"})
    assert (plan.type, plan.destination, plan.tmpfs_size) == ("tmpfs", "/run", 1 << 20)


def test_host_config_tmpfs_relative_path_rejected() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="mount path must be absolute"):
        _plan(tmpfs={"run": ""})


# the plan


def test_duplicate_mount_point_between_binds() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^Duplicate mount point: /data$"):
        _plan(binds=["/a:/data", "vol:/data/"])


def test_duplicate_mount_point_bind_and_tmpfs() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^Duplicate mount point: /data$"):
        _plan(binds=["/a:/data"], tmpfs={"/data": ""})


def test_duplicate_mount_point_bind_and_mount() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^Duplicate mount point: /data$"):
        _plan(binds=["/a:/data"], mounts=[Mount(type="volume", source="vv", target="/data")])


def test_image_volumes_become_anonymous_volumes() -> None:
    plans = _plan(ContainerConfig(volumes=["/var/lib/db"]), volume_driver="local")
    assert [
        (p.type, p.destination, p.anonymous, p.from_image, p.volume_driver, p.mode) for p in plans
    ] == [("volume", "/var/lib/db", True, True, "local", "")]


def test_image_volume_covered_by_a_mount_is_skipped() -> None:
    plans = _plan(ContainerConfig(volumes=["/data", "/logs"]), binds=["named:/data"])
    assert [(p.destination, p.source) for p in plans] == [("/data", "named"), ("/logs", "")]


def test_plan_sorted_parents_before_children() -> None:
    plans = _plan(
        ContainerConfig(volumes=["/a/b/c"]),
        binds=["/h1:/a/b", "vv:/z"],
        tmpfs={"/a/b/c/d": ""},
        mounts=[Mount(type="volume", source="ww", target="/a")],
    )
    assert [p.destination for p in plans] == ["/z", "/a", "/a/b", "/a/b/c", "/a/b/c/d"]
