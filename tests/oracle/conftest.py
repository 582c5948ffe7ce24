"""The engine fixtures live in _engines.py; importing them here registers them."""

from ._engines import busybox_images, containerd, dockerd

__all__ = ["busybox_images", "containerd", "dockerd"]
