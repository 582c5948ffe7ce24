from __future__ import annotations

import types

import pytest

from berth.engine.containers import merge, mounts, validate


@pytest.mark.parametrize("module", [merge, mounts, validate])
def test_all_lists_exactly_the_public_functions_and_classes(module: types.ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and callable(value)
        and getattr(value, "__module__", None) == module.__name__
    }
    assert public <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
