"""Shared test fixtures: where the real test data lives (``../shared/data`` beside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$SIAMTRACK_SHARED_DATA`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("SIAMTRACK_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real OTB/VOT/COCO/weights folder; tests using it skip cleanly when it is absent."""
    root = shared_data_dir()
    if not (root / "README.md").exists():
        pytest.skip(f"real test data not found at {root} (set SIAMTRACK_SHARED_DATA)")
    return root
