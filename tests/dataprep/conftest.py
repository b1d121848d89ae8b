"""Shared dataprep fixtures: small datasets in the real TrackingNet / ILSVRC VID layouts.

Session-scoped and READ-ONLY: copy a root (``shutil.copytree``) before changing anything in it,
or call the :mod:`testkit` writers on your own ``tmp_path``.

- ``trackingnet_dataset`` / ``trackingnet_root``: generated, chunks 0 and 1, 3 sequences each,
  12 frames of 160x120; ``syn0_001`` and ``syn1_002`` stored as zips.
- ``trackingnet_real_root``: chunk 0 built from real OTB Couple, OTB Crossing and VOT bag frames
  (20 frames each, ``syn0_002`` zipped); skips when the shared data is absent.
- ``trackingnet_bad``: chunk 0 with 2 good sequences plus one broken sequence per bad-input case;
  ``.bad`` lists what each must produce (:class:`testkit.bad_inputs.BadInput`).
- ``vid_dataset`` / ``vid_root``: generated, 2 train + 1 val snippets, 3 tracks each, 12 frames.
- ``vid_real_root``: 2 train snippets on real OTB/VOT frames (track 0 real target, track 1 generated).
- ``vid_bad``: 1 good train snippet plus one broken snippet per case.
- ``tlp_dataset``: generated TLP layout (:data:`TLP_ABSENT`): two usable sequences with absent frames,
  one with a single visible frame, one never visible.
- ``build_output``: :func:`read_build_output`, to compare the outputs of two builds.
- ``hostile_build``: :func:`run_hostile_build`, a ``dataprep build`` in a subprocess under memory and time limits.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.coco import link_coco_mini, write_coco, write_coco_bad
from testkit.tlp import write_tlp
from testkit.trackingnet import trackingnet_name, write_trackingnet, write_trackingnet_bad
from testkit.vid import write_vid, write_vid_bad


@dataclass(frozen=True)
class GeneratedDataset:
    root: Path
    truth: dict  # uid -> boxes (TrackingNet) or (wnid, boxes) (VID), as written


@dataclass(frozen=True)
class BadDataset:
    root: Path
    bad: list  # [testkit.bad_inputs.BadInput] or [testkit.coco.CocoBadInput]


def read_build_output(out) -> tuple[dict[str, bytes], dict, dict]:
    """What two builds of the same inputs must share, and what may differ: (every output file's bytes
    except build.json, build.json without its "run" section, the "run" section)."""
    out = Path(out)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "build.json")
    build = json.loads((out / "build.json").read_text())
    run = build.pop("run")
    return {str(p.relative_to(out)): p.read_bytes() for p in files}, build, run


@pytest.fixture(scope="session")
def build_output():
    return read_build_output


def real_sequence_dirs(shared_data: Path) -> list[Path]:
    return [shared_data / "otb" / "Couple", shared_data / "otb" / "Crossing", shared_data / "vot" / "bag"]


@pytest.fixture(scope="session")
def trackingnet_dataset(tmp_path_factory) -> GeneratedDataset:
    root = tmp_path_factory.mktemp("trackingnet")
    truth = write_trackingnet(
        root, chunks=(0, 1), sequences_per_chunk=3, frames=12, size=(160, 120), seed=0,
        zipped={trackingnet_name(0, 1), trackingnet_name(1, 2)},
    )
    return GeneratedDataset(root, truth)


@pytest.fixture(scope="session")
def trackingnet_root(trackingnet_dataset) -> Path:
    return trackingnet_dataset.root


@pytest.fixture(scope="session")
def trackingnet_real_root(shared_data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trackingnet_real")
    write_trackingnet(
        root, chunks=(0,), sequences_per_chunk=3, frames=20, seed=0,
        zipped={trackingnet_name(0, 2)}, real_frames_from=real_sequence_dirs(shared_data),
    )
    return root


@pytest.fixture(scope="session")
def trackingnet_bad(tmp_path_factory) -> BadDataset:
    root = tmp_path_factory.mktemp("trackingnet_bad")
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=2, frames=10, size=(160, 120), seed=1)
    return BadDataset(root, write_trackingnet_bad(root, chunk=0, frames=10, size=(160, 120), seed=1))


@pytest.fixture(scope="session")
def vid_dataset(tmp_path_factory) -> GeneratedDataset:
    root = tmp_path_factory.mktemp("vid")
    truth = write_vid(root, {"train": 2, "val": 1}, frames=12, size=(160, 120), seed=0, tracks_per_snippet=3)
    return GeneratedDataset(root, truth)


@pytest.fixture(scope="session")
def vid_root(vid_dataset) -> Path:
    return vid_dataset.root


@pytest.fixture(scope="session")
def vid_real_root(shared_data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vid_real")
    write_vid(root, {"train": 2}, frames=15, seed=0, tracks_per_snippet=2,
                        real_frames_from=real_sequence_dirs(shared_data))
    return root


@pytest.fixture(scope="session")
def vid_bad(tmp_path_factory) -> BadDataset:
    root = tmp_path_factory.mktemp("vid_bad")
    write_vid(root, {"train": 1}, frames=10, size=(160, 120), seed=1, tracks_per_snippet=2)
    return BadDataset(root, write_vid_bad(root, frames=10, size=(160, 120), seed=1))



#: 0-based absent frames of each generated TLP sequence (12 frames each).
TLP_ABSENT = {"Alpha": [2, 3, 4], "Beta": [0, 11], "Gamma": list(range(1, 12)), "Delta": list(range(12))}


@pytest.fixture(scope="session")
def tlp_dataset(tmp_path_factory) -> GeneratedDataset:
    root = tmp_path_factory.mktemp("tlp")
    return GeneratedDataset(root, write_tlp(root, TLP_ABSENT, frames=12, size=(160, 120), seed=0))


# --- COCO (testkit.coco) --------------------------------------------------------------
# - ``coco_mini_root``: the real sample (3 VOC photos, polygons, id 0 ``_background_``) laid out as
#   ROOT/annotations/instances_val2017.json + ROOT/val2017/JPEGImages/ (symlinks); skips without shared data.
# - ``coco_dataset``: generated split ``train2017``, 6 images, polygons + RLE + uncompressed RLE,
#   a crowd region, a tiny instance, a single-instance category (kite), a too-long snake.
# - ``coco_bad``: split ``bad2017`` with one broken input per case (``.bad``), plus the annotation
#   files ``instances_notjson.json`` and ``instances_nokeys.json``.


@pytest.fixture(scope="session")
def coco_mini_root(shared_data, tmp_path_factory) -> Path:
    return link_coco_mini(shared_data / "coco-mini", tmp_path_factory.mktemp("coco_mini"), "val2017")


@pytest.fixture(scope="session")
def coco_dataset(tmp_path_factory) -> GeneratedDataset:
    root = tmp_path_factory.mktemp("coco")
    instances = write_coco(root, "train2017", images=6, seed=0)
    return GeneratedDataset(root, {i.ann_id: i for i in instances})


@pytest.fixture(scope="session")
def coco_bad(tmp_path_factory) -> BadDataset:
    root = tmp_path_factory.mktemp("coco_bad")
    return BadDataset(root, write_coco_bad(root, "bad2017", seed=1))


# --- hostile inputs ------------------------------------------------------------------------------

HOSTILE_MEMORY_BYTES = 2 << 30
"""Address space of a hostile build: a normal small synchronous build needs under 1 GiB, the inputs
these tests feed would take 5-22 GB without the limits (and the test machine with them)."""


def run_hostile_build(args: list[str], timeout_s: float = 120, fsize_bytes: int | None = None,
                      ) -> subprocess.CompletedProcess:
    """``dataprep build ARGS --scheduler synchronous --no-progress`` in a subprocess whose address space
    is capped (and its file size, with ``fsize_bytes``): a regression fails the test (killed, out of
    memory, timed out) instead of taking the machine down."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (HOSTILE_MEMORY_BYTES, HOSTILE_MEMORY_BYTES))
        if fsize_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_bytes, fsize_bytes))

    cmd = [str(Path(sys.executable).parent / "dataprep"), "build", *map(str, args), "--scheduler", "synchronous",
           "--no-progress"]
    try:
        return subprocess.run(cmd, preexec_fn=limit, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hostile build still running after {timeout_s:g} s: {' '.join(cmd)}")


@pytest.fixture(scope="session")
def hostile_build():
    return run_hostile_build
