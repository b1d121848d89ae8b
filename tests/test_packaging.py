"""The product wheels ship the product only: no test-data writer (the test kit, or a ``synthetic*`` module
left behind in a product package), and no dependency on the test kit.

The wheels are built as a user's ``pip install`` builds them, from a copy of each package folder (a stale
``build/`` or ``*.egg-info`` in the work tree could otherwise hide a file or add one).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[1] / "packages"
KIT = "testkit"
PRODUCT = sorted(p.name for p in PACKAGES.iterdir() if (p / "pyproject.toml").is_file() and p.name != KIT)


def is_test_writer(member: str) -> bool:
    """A wheel member that belongs to the test kit: its package, its distribution, or a synthetic-data module."""
    top, _, rest = member.partition("/")
    return top == KIT or top.startswith("siamtrack_testkit") or Path(rest or top).name.startswith("synthetic")


def test_the_rule_sees_the_test_writers():
    assert is_test_writer("testkit/trackingnet.py") and is_test_writer("dataprep/synthetic_coco.py")
    assert is_test_writer("siamtrack_testkit-0.1.0.dist-info/METADATA")
    assert not is_test_writer("dataprep/build.py") and not is_test_writer("siamcore/datasets/vid.py")


@pytest.mark.slow
def test_product_wheels_hold_no_test_writers(tmp_path):
    for name in PRODUCT:
        shutil.copytree(PACKAGES / name, tmp_path / "src" / name,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-w", str(tmp_path / "wheels"), *(str(tmp_path / "src" / n) for n in PRODUCT)],
                   check=True, capture_output=True, timeout=300)
    wheels = sorted((tmp_path / "wheels").glob("*.whl"))
    assert len(wheels) == len(PRODUCT) >= 4
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            members = zf.namelist()
            metadata = zf.read(next(m for m in members if m.endswith(".dist-info/METADATA"))).decode()
        assert any(m.endswith(".py") and "/" in m for m in members), wheel.name  # sanity: the package is in it
        assert [m for m in members if is_test_writer(m)] == [], wheel.name
        requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
        assert not any("testkit" in line for line in requires), wheel.name
