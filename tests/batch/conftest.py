"""The batch tests' inputs, built once per session (see ``_helpers/batch_inputs.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers.batch_inputs import make_batch_inputs


@pytest.fixture(scope="session")
def batch_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_batch_inputs(tmp_path_factory.mktemp("batch_inputs"))
