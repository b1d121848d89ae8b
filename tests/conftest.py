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


# --- GOT-10k and LaSOT layouts from real frames ----------------------------------------------------
# Both datasets are far too big to ship; these builders lay out real OTB Couple and DAVIS-2016 frames
# (hard links, renumbered) in each dataset's on-disk layout, with each layout's quirks. ``truth`` maps a
# sequence name to the boxes the reader must give (this project's 0-based xywh, NaN where unusable).


def _link_frames(sources: list[Path], folder: Path, pattern: str = "{:08d}.jpg") -> list[Path]:
    """``sources`` as ``folder/pattern.format(1..)`` (hard links, copies across file systems)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(sources, 1):
        dst = folder / pattern.format(i)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        out.append(dst)
    return out


def _couple(shared: Path, first: int, count: int):
    """(frame files, 0-based xywh) of OTB Couple frames ``first..first+count-1`` (1-based numbers)."""
    import numpy as np

    from siamcore.datasets import load_otb

    (seq,) = load_otb(shared / "otb" / "Couple")
    return seq.frames[first - 1: first - 1 + count], np.array(seq.gt_xywh[first - 1: first - 1 + count])


def _davis(shared: Path, video: str, count: int):
    """(frame files, 0-based mask-extent xywh) of the first ``count`` frames of a DAVIS-2016 video."""
    import numpy as np

    from siamcore.datasets import load_davis

    (seq,) = load_davis(shared / "davis2016", [video])
    return seq.frames[:count], np.array(seq.gt_xywh[:count])


def _rows(boxes, shift: float = 0.0) -> str:
    return "".join(",".join(f"{v:g}" for v in (x + shift, y + shift, w, h)) + "\n" for x, y, w, h in boxes)


def write_got10k(shared: Path, root: Path) -> dict:
    """A GOT-10k root: train (Couple with absent / fully covered frames; blackswan; dog visible in one
    frame only), val (Couple), test (Couple with the first row only). Returns ``{name: expected xywh}``."""
    import numpy as np

    truth = {}

    def sequence(split, name, frames, boxes, absence=None, cover=None, cut=None, meta=None, first_row_only=False):
        folder = root / split / name
        _link_frames(frames, folder)
        (folder / "groundtruth.txt").write_text(_rows(boxes[:1] if first_row_only else boxes))
        n = len(frames)
        for label, values in (("absence", absence), ("cover", cover), ("cut_by_image", cut)):
            if values is not None:
                (folder / f"{label}.label").write_text("".join(f"{v}\n" for v in values))
        if meta:
            (folder / "meta_info.ini").write_text("[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()))
        expected = np.array(boxes, dtype=np.float64)
        if first_row_only:
            expected[1:] = np.nan
        hidden = np.zeros(n, bool)
        if absence is not None:
            hidden |= np.asarray(absence) != 0
        if cover is not None:
            hidden |= np.asarray(cover) == 0
        expected[hidden] = np.nan
        truth[name] = expected
        with open(root / split / "list.txt", "a") as f:
            f.write(name + "\n")

    frames, boxes = _couple(shared, 1, 20)
    absence = [1 if i in (4, 5) else 0 for i in range(20)]
    cover = [0 if i == 9 else 3 if i == 10 else 8 for i in range(20)]
    cut = [1 if i == 14 else 0 for i in range(20)]
    meta = {"url": "https://youtu.be/x", "object_class": "person", "motion_class": "walking",
            "major_class": "person", "root_class": "person", "motion_adverb": "slowly"}
    sequence("train", "GOT-10k_Train_000001", frames, boxes, absence, cover, cut, meta)
    frames, boxes = _davis(shared, "blackswan", 12)
    sequence("train", "GOT-10k_Train_000002", frames, boxes, [1] + [0] * 10 + [1], [8] * 12, [0] * 12,
             {"object_class": "black swan", "motion_class": "swimming"})
    frames, boxes = _davis(shared, "dog", 6)
    sequence("train", "GOT-10k_Train_000003", frames, boxes, [1, 1, 0, 1, 1, 1], [8] * 6, [0] * 6,
             {"object_class": "dog", "motion_class": "running"})
    frames, boxes = _couple(shared, 30, 10)
    sequence("val", "GOT-10k_Val_000001", frames, boxes, [0] * 10, [8] * 10, [0] * 10,
             {"object_class": "person", "motion_class": "walking"})
    frames, boxes = _couple(shared, 60, 10)
    sequence("test", "GOT-10k_Test_000001", frames, boxes, first_row_only=True)
    return truth


def write_lasot(shared: Path, root: Path) -> dict:
    """A LaSOT root: person-1 (Couple, occluded and out-of-view frames), person-2 (Couple), swan-1
    (blackswan, in view in one frame only), dog-1 (always occluded), with the official split lists
    (testing_set.txt: person-2, swan-1). Ground truth written 1-based as LaSOT's is; returns
    ``{name: expected 0-based xywh}``."""
    import numpy as np

    truth = {}

    def sequence(cls, n, frames, boxes, occlusion=None, out_of_view=None):
        folder = root / cls / f"{cls}-{n}"
        _link_frames(frames, folder / "img")
        (folder / "groundtruth.txt").write_text(_rows(boxes, shift=1.0))
        count = len(frames)
        occlusion = [0] * count if occlusion is None else occlusion
        out_of_view = [0] * count if out_of_view is None else out_of_view
        (folder / "full_occlusion.txt").write_text(",".join(map(str, occlusion)))  # one line, no newline
        (folder / "out_of_view.txt").write_text(",".join(map(str, out_of_view)) + "\n")
        (folder / "nlp.txt").write_text(f"the {cls} in the middle\n")
        expected = np.array(boxes, dtype=np.float64)
        expected[(np.asarray(occlusion) != 0) | (np.asarray(out_of_view) != 0)] = np.nan
        truth[folder.name] = expected

    frames, boxes = _couple(shared, 1, 20)
    sequence("person", 1, frames, boxes, [1 if i in (2, 3) else 0 for i in range(20)],
             [1 if i == 6 else 0 for i in range(20)])
    frames, boxes = _couple(shared, 40, 12)
    sequence("person", 2, frames, boxes)
    frames, boxes = _davis(shared, "blackswan", 12)
    sequence("swan", 1, frames, boxes, out_of_view=[0] + [1] * 11)
    frames, boxes = _davis(shared, "dog", 8)
    sequence("dog", 1, frames, boxes, occlusion=[1] * 8)
    (root / "testing_set.txt").write_text("person-2\nswan-1\n")
    (root / "training_set.txt").write_text("person-1\ndog-1\n")
    return truth


@pytest.fixture(scope="session")
def got10k_layout(shared_data, tmp_path_factory):
    """(root, truth) of :func:`write_got10k`; read-only (copy it before changing anything)."""
    root = tmp_path_factory.mktemp("GOT-10k")
    return root, write_got10k(shared_data, root)


@pytest.fixture(scope="session")
def lasot_layout(shared_data, tmp_path_factory):
    """(root, truth) of :func:`write_lasot`; read-only (copy it before changing anything)."""
    root = tmp_path_factory.mktemp("LaSOT")
    return root, write_lasot(shared_data, root)


# --- UAV123 layout from real frames ----------------------------------------------------------------


def _car4_pingpong(shared: Path, count: int):
    """(frame files, 0-based xywh) of ``count`` frames of OTB Car4 played forwards then backwards (Car4
    has 659 frames; UAV123's sub-sequences need longer folders): frame 660 is Car4's 658, and so on."""
    import numpy as np

    from siamcore.datasets import load_otb

    (seq,) = load_otb(shared / "otb" / "Car4")
    n = len(seq.frames)
    index = [i if i < n else 2 * (n - 1) - i for i in range(count)]
    return [seq.frames[i] for i in index], np.array(seq.gt_xywh)[index]


def write_uav123(shared: Path, root: Path) -> dict:
    """A UAV123 root (``anno/UAV123/<seq>.txt`` 1-based ``x,y,w,h``, ``data_seq/UAV123/<folder>/%06d.jpg``):
    ``truck4`` (1261 Car4 frames) split into the official sub-sequences truck4_1 (frames 1-577, NaN rows at
    frames 3-4, a malformed row at frame 6) and truck4_2 (577-1261, NaN rows at frames 586-595, its last
    frame without a row); ``person3_s`` (Couple, 140 frames, NaN rows first and last; ``_s`` is a folder of
    its own); an ``att/`` folder that is not a sequence. Returns ``{name: (expected 0-based xywh, absent)}``."""
    import numpy as np

    anno = root / "anno" / "UAV123"
    (anno / "att").mkdir(parents=True)
    (anno / "att" / "truck4_1.txt").write_text("0,1,0,0,1,0,0,0,0,0,0,1\n")
    truth = {}

    def sequence(name, boxes, first, absent_numbers=(), malformed_numbers=(), rows=None):
        expected = np.array(boxes, dtype=np.float64)
        absent = np.zeros(len(expected), bool)
        lines = []
        for i, box in enumerate(boxes[:rows]):
            number = first + i
            if number in absent_numbers:
                lines.append("NaN,NaN,NaN,NaN")
                absent[i] = True
                expected[i] = np.nan
            elif number in malformed_numbers:
                lines.append("12,NaN,3,4")
                expected[i] = np.nan
            else:
                lines.append(_rows([box], shift=1.0).strip())
        expected[len(lines):] = np.nan
        (anno / f"{name}.txt").write_text("\n".join(lines) + "\n")
        truth[name] = (expected, absent)

    frames, boxes = _car4_pingpong(shared, 1261)
    _link_frames(frames, root / "data_seq" / "UAV123" / "truck4", "{:06d}.jpg")
    sequence("truck4_1", boxes[0:577], 1, absent_numbers={3, 4}, malformed_numbers={6})
    sequence("truck4_2", boxes[576:1261], 577, absent_numbers=set(range(586, 596)), rows=684)
    frames, boxes = _couple(shared, 1, 140)
    _link_frames(frames, root / "data_seq" / "UAV123" / "person3_s", "{:06d}.jpg")
    sequence("person3_s", boxes, 1, absent_numbers={1, 140})
    return truth


@pytest.fixture(scope="session")
def uav123_layout(shared_data, tmp_path_factory):
    """(root, truth) of :func:`write_uav123`; read-only (copy it before changing anything)."""
    root = tmp_path_factory.mktemp("UAV123")
    return root, write_uav123(shared_data, root)


# --- MOT17 layout (generated JPEGs) ----------------------------------------------------------------

MOT17_GT_02 = [  # MOT17-02 (6 frames by seqinfo, 7 images): rows as written, 1-based x, y
    "1,1,11,9,20,30,1,1,1.0", "2,1,12,9,20,30,1,1,0.8", "3,1,13,10,20,30,1,1,1",  # id 1: no row at frame 4
    "5,1,15,10,20,30,1,1,0.6", "6,1,16,10,20,30,1,1,0.2",                        # frame 6 below 0.5
    "1,2,31,5,12,25,1,1,0.9", "1,2,40,40,5,5,1,1,1.0",                            # a second row of frame 1
    "2,2,32,5,12,25,0,1,1.0", "3,2,33,5,12,25,1,1,0.5", "4,2,34,5,12,25,1,1,0.49",  # consider 0; 0.5 is kept
    "5,2,35,5,12,25,1,1,1.0", "6,2,36,5,12,25,1,7,1.0",                           # frame 6: class 7, ignored
    "1,3,1,1,10,10,0,7,1.0", "2,3,1,1,10,10,0,7,1.0",                             # id 3: static person, no track
    "2,4,41,20,10,20,1,1,1.0", "7,4,47,20,10,20,1,1,1.0",                         # frame 7 is past seqLength
    "1,5,5,20,10,20,1,1,0.1", "2,5,5,20,10,20,1,1,0.3",                           # never visible enough
    "3,1,10,10", "a,1,11,9,20,30,1,1,1", "2.5,1,11,9,20,30,1,1,1",                # malformed: lines 19-21
]


def _mot17_video(folder: Path, frames: int, gt: list[str] | None, seq_length: int | None = None):
    import cv2
    import numpy as np

    (folder / "img1").mkdir(parents=True)
    rng = np.random.default_rng(frames)
    for i in range(1, frames + 1):
        assert cv2.imwrite(str(folder / "img1" / f"{i:06d}.jpg"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    if seq_length is not None:
        (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=30\n"
                                            f"seqLength={seq_length}\nimWidth=64\nimHeight=48\nimExt=.jpg\n")
    if gt is not None:
        (folder / "gt").mkdir()
        (folder / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")


def write_mot17(root: Path) -> dict:
    """A MOT17 root of 64x48 JPEGs: ``train/MOT17-02-{DPM,FRCNN,SDP}`` (:data:`MOT17_GT_02`: absent frames,
    consider 0, class 7, low visibility, a duplicate row, a row past ``seqLength``, malformed rows; the DPM
    copy has an extra id 9, which must not appear), ``train/MOT17-05-{DPM,SDP}`` (no FRCNN: DPM is read; no
    seqinfo.ini; SDP has an extra id 9), ``train/MOT17-09-FRCNN`` without gt, ``test/MOT17-01-FRCNN``.
    Returns ``{track name: (expected 0-based xywh, absent)}``."""
    import numpy as np

    extra = ["1,9,5,5,10,10,1,1,1.0", "2,9,5,5,10,10,1,1,1.0"]
    for variant, gt in (("DPM", MOT17_GT_02 + extra), ("FRCNN", MOT17_GT_02), ("SDP", MOT17_GT_02)):
        _mot17_video(root / "train" / f"MOT17-02-{variant}", 7, gt, seq_length=6)
    gt05 = [f"{f},1,{10 + f},10,20,30,1,1,1" for f in range(1, 5)] + [f"{f},2,41,9,12,30,1,1,0.7" for f in (1, 2, 3)]
    _mot17_video(root / "train" / "MOT17-05-DPM", 4, gt05)
    _mot17_video(root / "train" / "MOT17-05-SDP", 4, gt05 + extra, seq_length=4)
    _mot17_video(root / "train" / "MOT17-09-FRCNN", 3, None, seq_length=3)
    _mot17_video(root / "test" / "MOT17-01-FRCNN", 3, None, seq_length=3)
    nan = [np.nan] * 4
    truth = {
        "MOT17-02.1": [[10, 8, 20, 30], [11, 8, 20, 30], [12, 9, 20, 30], nan, [14, 9, 20, 30], nan],
        "MOT17-02.2": [[30, 4, 12, 25], nan, [32, 4, 12, 25], nan, [34, 4, 12, 25], nan],
        "MOT17-02.4": [nan, [40, 19, 10, 20], nan, nan, nan, nan],
        "MOT17-02.5": [nan] * 6,
        "MOT17-05.1": [[9 + f, 9, 20, 30] for f in range(1, 5)],
        "MOT17-05.2": [[40, 8, 12, 30]] * 3 + [nan],
    }
    return {name: (np.array(b, np.float64), np.isnan(np.array(b, np.float64)[:, 0])) for name, b in truth.items()}


@pytest.fixture(scope="session")
def mot17_layout(tmp_path_factory):
    """(root, truth) of :func:`write_mot17`; read-only (copy it before changing anything)."""
    root = tmp_path_factory.mktemp("MOT17")
    return root, write_mot17(root)


@pytest.fixture(scope="session")
def mot17_mini(shared_data) -> Path:
    """The real ``mot17-mini`` root (7 MOT17 training videos, their first 4-8 frames)."""
    root = shared_data / "mot17-mini"
    if not (root / "train").is_dir():
        pytest.skip(f"{root} not found")
    return root
