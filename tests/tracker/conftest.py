"""Fixtures shared by the tracker tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def two_threads():
    """At most 2 torch threads, as on the CI machine (and the benchmark's floor)."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(2, before))
    yield
    torch.set_num_threads(before)
