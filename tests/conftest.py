"""Shared test fixtures: where the real test data lives (``../shared/data`` beside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit.got10k import write_got10k
from testkit.lasot import write_lasot
from testkit.mot17 import write_mot17
from testkit.uav123 import write_uav123

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


# --- layouts of real datasets (writers in testkit) --------------------------------------------------
# Each is session-scoped and read-only (copy it before changing anything): ``(root, truth)``, ``truth``
# mapping a sequence name to what the reader must give.


@pytest.fixture(scope="session")
def got10k_layout(shared_data, tmp_path_factory):
    """(root, truth) of :func:`testkit.got10k.write_got10k` (real OTB Couple and DAVIS-2016 frames)."""
    root = tmp_path_factory.mktemp("GOT-10k")
    return root, write_got10k(shared_data, root)


@pytest.fixture(scope="session")
def lasot_layout(shared_data, tmp_path_factory):
    """(root, truth) of :func:`testkit.lasot.write_lasot` (real OTB Couple and DAVIS-2016 frames)."""
    root = tmp_path_factory.mktemp("LaSOT")
    return root, write_lasot(shared_data, root)


@pytest.fixture(scope="session")
def uav123_layout(shared_data, tmp_path_factory):
    """(root, truth) of :func:`testkit.uav123.write_uav123` (real OTB Car4 and Couple frames)."""
    root = tmp_path_factory.mktemp("UAV123")
    return root, write_uav123(shared_data, root)


@pytest.fixture(scope="session")
def mot17_layout(tmp_path_factory):
    """(root, truth) of :func:`testkit.mot17.write_mot17` (generated JPEGs)."""
    root = tmp_path_factory.mktemp("MOT17")
    return root, write_mot17(root)


@pytest.fixture(scope="session")
def mot17_mini(shared_data) -> Path:
    """The real ``mot17-mini`` root (7 MOT17 training videos, their first 4-8 frames)."""
    root = shared_data / "mot17-mini"
    if not (root / "train").is_dir():
        pytest.skip(f"{root} not found")
    return root
