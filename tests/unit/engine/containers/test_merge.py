from __future__ import annotations

import pytest

from berth import errdefs
from berth.engine.containers.merge import (
    DEFAULT_PATH,
    default_env,
    merge_image_config,
    process_args,
)
from berth.engine.containers.model import ContainerConfig, HealthConfig
from berth.oci.image import ImageConfig


def test_user_and_working_dir_come_from_image_when_unset() -> None:
    merged = merge_image_config(ContainerConfig(), ImageConfig(user="nobody", working_dir="/app"))
    assert (merged.user, merged.working_dir) == ("nobody", "/app")


def test_user_and_working_dir_set_by_container_win() -> None:
    merged = merge_image_config(
        ContainerConfig(user="root", working_dir="/srv"),
        ImageConfig(user="nobody", working_dir="/app"),
    )
    assert (merged.user, merged.working_dir) == ("root", "/srv")


def test_env_container_entries_override_image_by_key() -> None:
    merged = merge_image_config(
        ContainerConfig(env=["PATH=/x", "FOO=1"]),
        ImageConfig(env=("PATH=/usr/bin", "LANG=C.UTF-8")),
    )
    # Docker's order: the user's entries, then the image's keys the user did not set
    assert merged.env == ["PATH=/x", "FOO=1", "LANG=C.UTF-8"]


def test_env_from_image_when_container_has_none() -> None:
    merged = merge_image_config(ContainerConfig(), ImageConfig(env=("A=1", "B=2")))
    assert merged.env == ["A=1", "B=2"]


def test_exposed_ports_and_volumes_are_unions() -> None:
    merged = merge_image_config(
        ContainerConfig(exposed_ports=["8080/tcp"], volumes=["/a"]),
        ImageConfig(exposed_ports=("80/tcp", "8080/tcp"), volumes=("/a", "/b")),
    )
    assert merged.exposed_ports == ["8080/tcp", "80/tcp"]
    assert merged.volumes == ["/a", "/b"]


def test_labels_container_over_image() -> None:
    merged = merge_image_config(
        ContainerConfig(labels={"a": "mine"}), ImageConfig(labels={"a": "img", "b": "img"})
    )
    assert merged.labels == {"a": "mine", "b": "img"}


def test_cmd_and_entrypoint_from_image_when_neither_set() -> None:
    merged = merge_image_config(
        ContainerConfig(), ImageConfig(entrypoint=("/init",), cmd=("serve",), args_escaped=True)
    )
    assert merged.entrypoint == ["/init"]
    assert merged.cmd == ["serve"]
    assert merged.args_escaped is True


def test_container_cmd_keeps_image_entrypoint() -> None:
    merged = merge_image_config(
        ContainerConfig(cmd=["ls"]), ImageConfig(entrypoint=("/init",), cmd=("serve",))
    )
    assert (merged.entrypoint, merged.cmd) == (["/init"], ["ls"])


def test_container_entrypoint_drops_image_cmd() -> None:
    merged = merge_image_config(
        ContainerConfig(entrypoint=["sh"]), ImageConfig(entrypoint=("/init",), cmd=("serve",))
    )
    assert merged.entrypoint == ["sh"]
    assert merged.cmd is None


def test_empty_entrypoint_resets_image_entrypoint_but_keeps_cmd() -> None:
    merged = merge_image_config(
        ContainerConfig(entrypoint=[]), ImageConfig(entrypoint=("/init",), cmd=("serve",))
    )
    assert merged.entrypoint == []
    assert merged.cmd == ["serve"]


def test_entrypoint_empty_string_drops_image_cmd_too() -> None:
    # dockerd: `run --entrypoint "" img` with no command is "No command specified"
    merged = merge_image_config(
        ContainerConfig(entrypoint=[""]), ImageConfig(entrypoint=("/init",), cmd=("serve",))
    )
    assert (merged.entrypoint, merged.cmd) == ([], None)


def test_stop_signal_shell_onbuild_stop_timeout_from_image() -> None:
    merged = merge_image_config(
        ContainerConfig(),
        ImageConfig(
            stop_signal="SIGQUIT", shell=("/bin/bash", "-c"), on_build=("RUN x",), stop_timeout=5
        ),
    )
    assert merged.stop_signal == "SIGQUIT"
    assert merged.shell == ["/bin/bash", "-c"]
    assert merged.on_build == ["RUN x"]
    assert merged.stop_timeout == 5


def test_stop_timeout_zero_from_container_is_kept() -> None:
    merged = merge_image_config(ContainerConfig(stop_timeout=0), ImageConfig(stop_timeout=5))
    assert merged.stop_timeout == 0


def test_healthcheck_from_image_when_container_has_none() -> None:
    merged = merge_image_config(
        ContainerConfig(),
        ImageConfig(healthcheck={"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Retries": 3}),
    )
    assert merged.healthcheck == HealthConfig(
        test=["CMD", "true"], interval=5_000_000_000, retries=3
    )


def test_healthcheck_fields_fill_from_image() -> None:
    merged = merge_image_config(
        ContainerConfig(healthcheck=HealthConfig(interval=1_000_000_000)),
        ImageConfig(
            healthcheck={
                "Test": ["CMD-SHELL", "curl x"],
                "Interval": 30,
                "Timeout": 7,
                "Retries": 2,
            }
        ),
    )
    assert merged.healthcheck == HealthConfig(
        test=["CMD-SHELL", "curl x"], interval=1_000_000_000, timeout=7, retries=2
    )


def test_merge_returns_new_object_and_leaves_input_alone() -> None:
    config = ContainerConfig(env=["A=1"])
    merged = merge_image_config(config, ImageConfig(env=("B=2",), user="u"))
    assert merged is not config
    assert config.env == ["A=1"]
    assert config.user == ""


def test_process_args_is_entrypoint_then_cmd() -> None:
    assert process_args(ContainerConfig(entrypoint=["/init", "-v"], cmd=["serve", "x"])) == (
        "/init",
        ["-v", "serve", "x"],
    )


def test_process_args_cmd_only() -> None:
    assert process_args(ContainerConfig(cmd=["sh", "-c", "true"])) == ("sh", ["-c", "true"])


@pytest.mark.parametrize(
    "config",
    [ContainerConfig(), ContainerConfig(entrypoint=[], cmd=[]), ContainerConfig(entrypoint=[""])],
)
def test_process_args_nothing_to_run_is_no_command_specified(config: ContainerConfig) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^No command specified$"):
        process_args(config)


def test_default_env_adds_path_and_hostname() -> None:
    assert default_env(ContainerConfig(hostname="abc")) == [f"PATH={DEFAULT_PATH}", "HOSTNAME=abc"]


def test_default_env_term_under_tty() -> None:
    assert "TERM=xterm" in default_env(ContainerConfig(tty=True))
    assert not any(e.startswith("TERM=") for e in default_env(ContainerConfig()))


def test_default_env_config_overrides_and_appends() -> None:
    env = default_env(
        ContainerConfig(hostname="h", tty=True, env=["PATH=/bin", "A=1", "TERM=vt100"])
    )
    assert env == ["PATH=/bin", "HOSTNAME=h", "TERM=vt100", "A=1"]


def test_default_env_key_without_value_removes_default() -> None:
    assert default_env(ContainerConfig(hostname="h", env=["HOSTNAME"])) == [f"PATH={DEFAULT_PATH}"]
