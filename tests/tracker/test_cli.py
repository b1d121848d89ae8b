"""The ``tracker`` CLI end to end: eval (acceptance with the real SiamFC weights), score, run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from tracker.cli import app
from tracker.datasets import load_otb, read_results, write_results
from tracker.models import create_model
from tracker.weights import save_model

runner = CliRunner()


def invoke(*args: str):
    """Run the CLI; ``.text`` is its output with rich's line wrapping undone."""
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    result.text = " ".join(result.output.split())
    return result


@pytest.mark.slow
def test_eval_siamfc_on_couple_and_crossing_meets_acceptance(shared_data, tmp_path):
    out = tmp_path / "eval"
    result = invoke("eval", "--benchmark", "otb", "--root", shared_data / "otb", "--weights",
                    shared_data / "weights" / "siamfc_alexnet.safetensors", "--sequences", "Couple", "Crossing",
                    "--out", out, "--threads", "2")
    assert result.exit_code == 0, result.output
    scores = json.loads((out / "scores.json").read_text())
    seqs = scores["siamfc"]["sequences"]
    assert seqs["Couple"]["auc"] >= 0.68, seqs
    assert seqs["Crossing"]["auc"] >= 0.75, seqs
    assert seqs["Couple"]["frames"] == 140 and seqs["Crossing"]["frames"] == 120
    assert set(scores["siamfc"]) == {"auc", "precision", "norm_precision", "sequences"}
    assert scores["siamfc"]["auc"] == pytest.approx((seqs["Couple"]["auc"] + seqs["Crossing"]["auc"]) / 2)
    rows = (out / "siamfc" / "Couple.txt").read_text().splitlines()
    assert len(rows) == 140 and rows[0] == "51.0000,47.0000,25.0000,62.0000"  # frame 1 = ground truth
    for name in ("success.png", "precision.png", "norm_precision.png"):
        assert Image.open(out / name).size[0] > 300

    # scoring the folder again with `tracker score` gives the same numbers
    result = invoke("score", "--results", out, "--root", shared_data / "otb", "--sequences", "Couple,Crossing",
                    "--json", tmp_path / "again.json")
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again.json").read_text())["siamfc"]
    assert again["auc"] == pytest.approx(scores["siamfc"]["auc"])
    assert again["sequences"]["Couple"] == pytest.approx(seqs["Couple"])


def make_otb(root: Path, count: int = 6) -> None:
    """Two generated OTB sequences (one two-target folder) with a moving square."""
    rng = np.random.default_rng([11, count])
    for folder, targets in (("Walk", [None]), ("Jogging", [1, 2])):
        (root / folder / "img").mkdir(parents=True)
        rows = {t: [] for t in targets}
        for i in range(count):
            frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            for t in targets:
                x, y = 20 + 3 * i + 50 * (t or 0), 30 + 2 * i
                frame[y : y + 24, x : x + 20] = (250, 30, 30)
                rows[t].append((x + 1, y + 1, 20, 24))  # 1-based like OTB
            cv2.imwrite(str(root / folder / "img" / f"{i + 1:04d}.jpg"), frame)
        for t, r in rows.items():
            name = "groundtruth_rect.txt" if t is None else f"groundtruth_rect.{t}.txt"
            (root / folder / name).write_text("".join("\t".join(map(str, row)) + "\n" for row in r))


def test_score_result_folders_json_shape_aliases_and_plots(tmp_path):
    root = tmp_path / "otb"
    make_otb(root)
    seqs = load_otb(root)
    perfect, shifted = tmp_path / "res" / "Perfect", tmp_path / "res" / "Shifted"
    for seq in seqs:
        write_results(perfect / f"{seq.name}.txt", seq.gt_xywh)
        pysot_name = seq.name.replace(".", "-")  # pysot writes Jogging-1.txt
        write_results(shifted / f"{pysot_name}.txt", seq.gt_xywh + [10, 0, 0, 0])
    (shifted / "Walk.txt").unlink()  # missing for one tracker: reported, not scored

    result = invoke("score", "--results", perfect, shifted, "--root", root, "--json", tmp_path / "s.json",
                    "--plot-dir", tmp_path / "plots")
    assert result.exit_code == 0, result.output
    assert "no results for 1 sequence(s): Walk" in result.text
    scores = json.loads((tmp_path / "s.json").read_text())
    assert set(scores) == {"Perfect", "Shifted"}
    assert scores["Perfect"]["auc"] == pytest.approx(20 / 21)
    # both are ranked on the sequences they both have
    assert set(scores["Perfect"]["sequences"]) == set(scores["Shifted"]["sequences"]) == {"Jogging.1", "Jogging.2"}
    assert "Perfect: 1 sequence(s) left out, not in every tracker's results: Walk" in result.text
    s = scores["Shifted"]["sequences"]["Jogging.1"]
    assert set(s) == {"auc", "precision", "norm_precision", "frames"} and s["frames"] == 6
    # a 10 px shift of a 20x24 box: IoU 10*24 / (30*24) = 1/3; error 10 px <= 20; normalised 0.5 > 0.2
    assert s["auc"] == pytest.approx(7 / 21) and s["precision"] == 1.0 and s["norm_precision"] == 0.0
    assert (tmp_path / "plots" / "success.png").is_file() and (tmp_path / "plots" / "precision.png").is_file()

    # the parent folder stands for its tracker folders
    result = invoke("score", "--results", tmp_path / "res", "--root", root)
    assert result.exit_code == 0 and "Perfect" in result.text and "Shifted" in result.text

    result = invoke("score", "--results", tmp_path / "nowhere", "--root", root)
    assert result.exit_code == 2 and "does not exist" in result.text


def test_score_ranks_published_results_and_a_two_sequence_run_on_common_sequences(shared_data, tmp_path):
    """A 2-sequence run next to the published 5-sequence results: all are scored on those 2, the
    plots say so, and folders without a common sequence are refused."""
    otb, published = shared_data / "otb", shared_data / "results" / "OTB100"
    for seq in load_otb(otb, ["Couple", "Deer"]):
        write_results(tmp_path / "Mine" / f"{seq.name}.txt", seq.gt_xywh)  # a perfect tracker
    for seq in load_otb(otb, ["Girl"]):
        write_results(tmp_path / "Other" / f"{seq.name}.txt", seq.gt_xywh)
    plots = tmp_path / "plots"
    result = invoke("score", "--results", published / "SiamFC", published / "SiamRPN++", tmp_path / "Mine",
                    "--root", otb, "--json", tmp_path / "s.json", "--plot-dir", plots, "--attributes")
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "s.json").read_text())
    assert {name: set(s["sequences"]) for name, s in scores.items()} == {
        "SiamFC": {"Couple", "Deer"}, "SiamRPN++": {"Couple", "Deer"}, "Mine": {"Couple", "Deer"}}
    assert scores["SiamFC"]["auc"] == pytest.approx((0.690 + 0.748) / 2, abs=1e-3)  # data README's table
    assert scores["SiamRPN++"]["auc"] == pytest.approx((0.722 + 0.539) / 2, abs=1e-3)
    assert scores["Mine"]["auc"] == pytest.approx(20 / 21)
    assert "SiamFC: 3 sequence(s) left out, not in every tracker's results: Car4, Crossing, Girl" in result.text
    assert "Mine: no results for 3 sequence(s)" in result.text
    assert Image.open(plots / "success.png").info["Title"] == "Success plots of OPE on OTB (2 seq.)"
    # of Couple and Deer only Couple has attributes (attrs.txt): SV, DEF, FM, OPR, BC
    assert sorted(p.name for p in plots.glob("success_*.png")) == [
        f"success_{a}.png" for a in ("BC", "DEF", "FM", "OPR", "SV")]
    assert Image.open(plots / "success_SV.png").info["Title"] == (
        "Success plots of OPE on OTB - scale variation (1 seq.)")

    result = invoke("score", "--results", tmp_path / "Mine", tmp_path / "Other", "--root", otb)
    assert result.exit_code != 0
    assert "no sequence has results from every tracker (sequences scored: Mine 2, Other 1)" in result.text
    result = invoke("score", "--results", tmp_path / "Mine", "--root", otb, "--attributes")
    assert result.exit_code != 0 and "--plot-dir" in result.text


@pytest.fixture
def siamrpn_run(tmp_path) -> Path:
    """A trainer-style run folder holding randomly initialised SiamRPN weights in export/."""
    torch.manual_seed(0)
    run = tmp_path / "run"
    save_model(create_model("siamrpn"), run / "export" / "model.safetensors")
    return run


def test_eval_with_a_run_folder_and_resume(tmp_path, siamrpn_run):
    root = tmp_path / "otb"
    make_otb(root, count=4)
    out = tmp_path / "eval"
    result = invoke("eval", "--root", root, "--weights", siamrpn_run, "--out", out, "--name", "rpn-random")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "rpn-random").glob("*.txt")) == ["Jogging.1.txt", "Jogging.2.txt", "Walk.txt"]
    assert len(read_results(out / "rpn-random" / "Walk.txt")) == 4
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["rpn-random"]["sequences"]) == {"Walk", "Jogging.1", "Jogging.2"}

    before = (out / "rpn-random" / "Walk.txt").stat().st_mtime_ns
    result = invoke("eval", "--root", root, "--weights", siamrpn_run, "--out", out, "--name", "rpn-random",
                    "--resume", "--sequences", "Walk")
    assert result.exit_code == 0 and "kept existing results" in result.text
    assert (out / "rpn-random" / "Walk.txt").stat().st_mtime_ns == before

    result = invoke("eval", "--root", tmp_path / "empty", "--weights", siamrpn_run, "--out", out)
    assert result.exit_code == 2 and "not a folder" in result.text
    result = invoke("eval", "--root", root, "--weights", tmp_path / "norun", "--out", out)
    assert result.exit_code == 2 and "weights not found" in result.text


def test_eval_drift_writes_csv_and_picture_for_the_chosen_sequences(tmp_path, siamrpn_run):
    root = tmp_path / "otb"
    make_otb(root, count=4)
    out = tmp_path / "eval"
    result = invoke("eval", "--root", root, "--weights", siamrpn_run, "--out", out, "--name", "rpn", "--device", "cpu",
                    "--sequences", "Walk,Jogging.1", "--drift", "walk")
    assert result.exit_code == 0, result.output
    assert "Size drift" in result.text
    drift = out / "rpn" / "drift"
    assert sorted(p.name for p in drift.iterdir()) == ["Walk.csv", "Walk.png"]
    rows = (drift / "Walk.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[1].split(",")[1:6] == ["20.0000", "24.0000", "20.0000", "24.0000", "1.0000"]
    assert Image.open(drift / "Walk.png").info["Title"].startswith("Walk - rpn: size ratio in [0.67, 1.5] on ")

    # unknown names are refused before any tracking; the reset-based protocols have no --drift
    result = invoke("eval", "--root", root, "--weights", siamrpn_run, "--out", tmp_path / "e2", "--drift", "Run")
    assert result.exit_code == 2 and "--drift: not among the sequences here: Run" in result.text
    assert not (tmp_path / "e2").exists()
    result = invoke("eval", "--benchmark", "vot", "--root", root, "--weights", siamrpn_run, "--out", tmp_path / "e3",
                    "--drift", "all")
    assert result.exit_code == 2 and "--drift draws one-pass results" in result.text


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_run_on_a_frame_folder_writes_boxes_and_video(tmp_path, siamrpn_run, suffix):
    frames = tmp_path / "frames"
    make_otb(tmp_path / "otb", count=5)
    os.symlink(tmp_path / "otb" / "Walk" / "img", frames)
    out, video = tmp_path / "boxes.txt", tmp_path / f"out{suffix}"
    result = invoke("run", "--weights", siamrpn_run, "--source", frames, "--init", "20,30,20,24", "--out", out,
                    "--render", video)
    assert result.exit_code == 0, result.output
    boxes = read_results(out)
    assert boxes.shape == (5, 4) and boxes[0].tolist() == [20, 30, 20, 24]
    if suffix == ".gif":
        assert Image.open(video).n_frames == 5
    else:
        cap = cv2.VideoCapture(str(video))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
        cap.release()
    assert not list(tmp_path.glob(".*partial*"))

    result = invoke("run", "--weights", siamrpn_run, "--source", frames)
    assert result.exit_code == 2 and "--init" in result.text
    result = invoke("run", "--weights", siamrpn_run, "--source", frames, "--init", "1,2,3")
    assert result.exit_code == 2 and "x,y,w,h" in result.text
    result = invoke("run", "--weights", siamrpn_run, "--source", frames, "--init", "1,2,3,4", "--render",
                    tmp_path / "x.png")
    assert result.exit_code == 2 and ".mp4" in result.text


def test_run_refuses_an_out_that_is_a_folder_or_unwritable_before_tracking(tmp_path, siamrpn_run):
    make_otb(tmp_path / "otb", count=5)
    frames = tmp_path / "otb" / "Walk" / "img"
    folder = tmp_path / "d"
    folder.mkdir()
    result = invoke("run", "--weights", siamrpn_run, "--source", frames, "--init", "20,30,20,24", "--out", folder)
    assert result.exit_code == 2 and "--out" in result.text and "is a folder" in result.text, result.output
    assert "tracks" not in result.text and "frames, tracker" not in result.text  # refused before any work
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: nothing to show here
            return
        result = invoke("run", "--weights", siamrpn_run, "--source", frames, "--init", "20,30,20,24",
                        "--out", locked / "sub" / "boxes.txt")
        assert result.exit_code == 2 and "cannot be written" in result.text, result.output
    finally:
        locked.chmod(0o700)


def _real_frames(shared_data, dest: Path, sequence: str = "Couple", count: int = 8, garbage_at: int | None = None):
    """A copy of the first ``count`` frames of a real OTB sequence (``img/`` + ground truth), frame
    ``garbage_at`` (1-based) overwritten with bytes that are no image: a disk or copy error."""
    import shutil

    src = shared_data / "otb" / sequence
    (dest / "img").mkdir(parents=True)
    for i in range(1, count + 1):
        shutil.copy(src / "img" / f"{i:04d}.jpg", dest / "img" / f"{i:04d}.jpg")
    gt = (src / "groundtruth_rect.txt").read_text().splitlines(True)[:count]
    (dest / "groundtruth_rect.txt").write_text("".join(gt))
    if garbage_at is not None:
        (dest / "img" / f"{garbage_at:04d}.jpg").write_bytes(b"\xff\xd8 not a jpeg " * 50)
    return dest


def test_run_keeps_the_boxes_before_a_corrupt_frame_and_names_it(shared_data, tmp_path):
    """A frame mid-video that does not decode ends the run with exit 1 and names that frame, but the
    boxes (and rendered frames) tracked before it are written, not thrown away."""
    seq = _real_frames(shared_data, tmp_path / "Couple", garbage_at=6)
    init = ",".join(str(int(v) - (i < 2)) for i, v in enumerate(
        (seq / "groundtruth_rect.txt").read_text().split()[:4]))  # OTB rows are 1-based
    out, video = tmp_path / "boxes.txt", tmp_path / "boxes.mp4"
    result = invoke("run", "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors", "--source",
                    seq / "img", "--init", init, "--out", out, "--render", video, "--threads", "2")
    assert result.exit_code == 1, result.output
    assert "frame 6" in result.text and "0006.jpg" in "".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    boxes = read_results(out)
    assert boxes.shape == (5, 4) and boxes[0].tolist() == [float(v) for v in init.split(",")]
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    cap.release()


def test_run_warns_when_a_video_ends_before_its_stated_length(shared_data, tmp_path):
    """A real mp4 (index at the front) cut short: OpenCV still reports the container's frame count, then
    stops early. The run keeps the boxes it has and says both numbers instead of exiting 0 in silence."""
    import imageio_ffmpeg

    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
              for p in sorted((shared_data / "otb" / "Couple" / "img").glob("*.jpg"))[:30]]
    whole = tmp_path / "whole.mp4"
    writer = imageio_ffmpeg.write_frames(str(whole), (320, 240), fps=10, codec="libx264",
                                         output_params=["-movflags", "+faststart"])
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame).tobytes())
    writer.close()
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    cap = cv2.VideoCapture(str(cut))
    stated, readable = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0
    while cap.read()[0]:
        readable += 1
    cap.release()
    assert stated == 30 and 0 < readable < 30  # what the run below must report

    out = tmp_path / "cut.txt"
    result = invoke("run", "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors", "--source", cut,
                    "--init", "50,40,60,80", "--out", out, "--threads", "2")
    assert result.exit_code == 0, result.output
    assert f"ended after {readable} frames" in result.text and "states 30" in result.text, result.output
    assert len(read_results(out)) == readable


def test_eval_keeps_and_scores_the_other_sequences_and_names_a_corrupt_frame(shared_data, tmp_path):
    """One sequence with an undecodable frame: the others are tracked, written and scored, the broken one
    is reported with its frame, and the command exits 1 (the work did not fully succeed)."""
    root = tmp_path / "otb"
    _real_frames(shared_data, root / "Couple", garbage_at=4)
    _real_frames(shared_data, root / "Crossing", sequence="Crossing")
    out = tmp_path / "eval"
    result = invoke("eval", "--root", root, "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors",
                    "--out", out, "--threads", "2")
    assert result.exit_code == 1, result.output
    assert "Couple" in result.text and "frame 4" in result.text and "Traceback" not in result.output
    assert len(read_results(out / "siamfc" / "Crossing.txt")) == 8
    assert set(json.loads((out / "scores.json").read_text())["siamfc"]["sequences"]) == {"Crossing"}


def test_run_init_errors_quote_the_text_and_say_what_is_wrong(shared_data, tmp_path):
    """The error repeats what the user typed and names the problem (a NaN used to reach the tracker)."""
    make_otb(tmp_path / "otb", count=2)
    args = ("run", "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors", "--source",
            tmp_path / "otb" / "Walk", "--device", "cpu", "--init")
    for text, problem in (("nan,1,2,3", "not finite"), ("1,2,inf,3", "not finite"), ("1,2,0,4", "positive"),
                          ("1,2,3", "4 numbers"), ("a,b,c,d", "4 numbers")):
        result = invoke(*args, text)
        assert result.exit_code == 2, result.output
        assert f"'{text}'" in result.text and problem in result.text, result.output


def test_run_with_a_file_that_is_not_weights_says_so_in_one_line(tmp_path):
    """Not torch's ten lines suggesting ``weights_only=False``, which users must never follow."""
    make_otb(tmp_path / "otb", count=2)
    readme = Path(__file__).resolve().parents[2] / "README.md"
    renamed = tmp_path / "readme.safetensors"
    renamed.write_bytes(readme.read_bytes())
    for weights in (readme, renamed):
        result = invoke("run", "--weights", weights, "--source", tmp_path / "otb" / "Walk")
        assert result.exit_code != 0
        assert "not a siamtrack/safetensors weights file" in result.text, result.output
        assert str(weights) in "".join(result.output.split())  # names the file (rich may wrap long paths)
        assert "weights_only" not in result.output and "Traceback" not in result.output
        assert len(result.text) < len(str(weights)) + 100, result.output  # one sentence


def test_run_siamfc_on_vot_bag_start_follows_the_bag(shared_data, tmp_path):
    """The first 25 frames of the real VOT bag (init from its ground truth), rendered as GIF."""
    bag = tmp_path / "bag"
    bag.mkdir()
    src = shared_data / "vot" / "bag"
    for i in range(1, 26):
        os.symlink(src / f"{i:08d}.jpg", bag / f"{i:08d}.jpg")
    (bag / "groundtruth.txt").write_text("".join((src / "groundtruth.txt").read_text().splitlines(True)[:25]))
    out, gif = tmp_path / "bag.txt", tmp_path / "bag.gif"
    result = invoke("run", "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors", "--source", bag,
                    "--out", out, "--render", gif, "--show-gt", "--threads", "2")
    assert result.exit_code == 0, result.output
    from tracker.datasets import load_vot_sequence
    from tracker.evaluation.metrics import overlaps

    gt = load_vot_sequence(bag).gt_xywh
    iou = overlaps(read_results(out), gt)
    assert iou.mean() > 0.6, iou
    assert Image.open(gif).n_frames == 25


def test_run_siamfc_on_the_real_bedroom_video_for_a_few_frames(shared_data, tmp_path):
    """The README's example on a real 960x540 H.264 clip without ground truth, cut short by --max-frames:
    the box follows the girl, who lands from a jump in these frames (about 90 px down, 10 px sideways),
    and the mp4 written is H.264."""
    import imageio_ffmpeg

    out, video = tmp_path / "bedroom.txt", tmp_path / "bedroom.mp4"
    result = invoke("run", "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors", "--source",
                    shared_data / "video" / "bedroom.mp4", "--init", "335,95,115,200", "--max-frames", "8",
                    "--out", out, "--render", video, "--threads", "2")
    assert result.exit_code == 0, result.output
    boxes = read_results(out)
    assert boxes.shape == (8, 4) and boxes[0].tolist() == [335, 95, 115, 200]
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert np.abs(centres[:, 0] - centres[0, 0]).max() < 30 and centres[5, 1] - centres[0, 1] > 60
    assert np.all(boxes[:, 2:] > 80)
    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    assert meta["codec"] == "h264" and meta["size"] == (960, 540)
    assert sum(1 for _ in reader) == 8


def test_run_select_without_a_display_says_so(tmp_path, monkeypatch):
    """--select needs a window; this machine (like CI and servers) has no display."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    make_otb(tmp_path / "otb", count=2)
    args = ("run", "--weights", tmp_path / "unused.safetensors", "--source", tmp_path / "otb" / "Walk")
    result = invoke(*args, "--select")
    assert result.exit_code == 2 and "no display" in result.text and "--init" in result.text, result.output
    result = invoke(*args, "--select", "--init", "1,2,3,4")
    assert result.exit_code == 2 and "not both" in result.text


@pytest.mark.skipif(not sys.platform.startswith("linux") or bool(list(Path("/dev").glob("video*"))),
                    reason="needs a Linux machine without a camera")
def test_run_on_a_missing_camera_says_so(tmp_path):
    """``--source 0`` is the first webcam; without one the error says so before any model loads."""
    result = invoke("run", "--weights", tmp_path / "unused.safetensors", "--source", "0", "--init", "1,2,3,4")
    assert result.exit_code == 2 and "no camera 0" in result.text, result.output
    assert "WARN" not in result.output  # OpenCV's own warnings are replaced by that message


def test_tune_finds_and_writes_the_best_parameters(shared_data, tmp_path):
    """`tracker tune` on a real sequence: every grid point is scored, the table is sorted, and the best
    set is written as a params file that `--params` reads back."""
    from tracker.online import load_params
    from tracker.tune import param_grid

    weights = shared_data / "weights" / "siamfc_alexnet.safetensors"
    out = tmp_path / "best.toml"
    result = invoke("tune", "--weights", weights, "--root", shared_data / "otb", "--sequences", "Deer",
                    "--grid", "window_influence=0.0,0.176", "--grid", "scale_lr=0.59", "--out", out,
                    "--threads", "2")
    assert result.exit_code == 0, result.output
    assert "2 parameter sets x 1 sequences (71 frames)" in result.text
    best = load_params(out, "siamfc")
    assert best.window_influence in (0.0, 0.176) and best.scale_lr == 0.59
    assert "best of 2" in out.read_text() and best.scale_step == 1.0375  # the other keys kept
    grid = param_grid(load_params(None, "siamrpn"), {"lr": [0.3, 0.5], "penalty_k": [0.1]})
    assert [p.lr for p, _ in grid] == [0.3, 0.5] and all(p.penalty_k == 0.1 for p, _ in grid)
    bad = invoke("tune", "--weights", weights, "--root", shared_data / "otb", "--sequences", "Deer",
                 "--grid", "window=0.1")
    assert bad.exit_code == 2 and "unknown key(s) window" in bad.text


def test_names_and_paths_with_brackets_are_printed_literally(tmp_path):
    """rich reads ``[fc]`` as a markup tag and drops it: tracker names (result folders), sequence names
    and paths in errors must be shown as they are."""
    root = tmp_path / "otb"
    make_otb(root)
    tracker_dir = tmp_path / "res" / "siam[fc]"
    for seq in load_otb(root):
        write_results(tracker_dir / f"{seq.name}.txt", seq.gt_xywh)
    result = invoke("score", "--results", tracker_dir, "--root", root, "--per-sequence")
    assert result.exit_code == 0, result.output
    assert "siam[fc]" in result.text and "siam[fc]: per sequence" in result.text

    source = tmp_path / "clip[x]"
    source.mkdir()
    result = invoke("run", "--weights", tmp_path / "w.safetensors", "--source", source, "--device", "cpu")
    assert result.exit_code == 2
    assert f"{source}:noimages" in "".join(result.output.split())  # rich may wrap long paths


def test_python_m_tracker_and_a_light_help():
    """``python -m tracker`` is the ``tracker`` command; importing the CLI, all ``--help`` needs, does not
    import torch (seconds) or OpenCV: the commands import them."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "tracker", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "python -m tracker" in res.stdout and "eval" in res.stdout and "score" in res.stdout

    heavy = ("torch", "cv2", "matplotlib", "safetensors", "dask", "lmdb", "pycocotools")
    code = f"import sys, tracker.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_eval_lasot_scores_absent_frames_as_failures(shared_data, lasot_layout, tmp_path):
    """`--benchmark lasot` runs one-pass on the LaSOT layout and scores it with LaSOT's rule (absent
    frames are failures); `tracker score --invalid-gt exclude` on the same results scores higher."""
    root, _ = lasot_layout
    out = tmp_path / "eval"
    result = invoke("eval", "--benchmark", "lasot", "--root", root, "--sequences", "person-1", "--weights",
                    shared_data / "weights" / "siamfc_alexnet.safetensors", "--out", out, "--threads", "2")
    assert result.exit_code == 0, result.output
    lasot_auc = json.loads((out / "scores.json").read_text())["siamfc"]["sequences"]["person-1"]["auc"]
    assert len((out / "siamfc" / "person-1.txt").read_text().splitlines()) == 20
    result = invoke("score", "--results", out / "siamfc", "--benchmark", "lasot", "--root", root,
                    "--sequences", "person-1", "--invalid-gt", "exclude", "--json", tmp_path / "ex.json")
    assert result.exit_code == 0, result.output
    excluded_auc = json.loads((tmp_path / "ex.json").read_text())["siamfc"]["sequences"]["person-1"]["auc"]
    # 3 of 20 frames are absent: LaSOT counts them as misses, 'exclude' drops them
    assert 0 < lasot_auc < excluded_auc


def test_eval_uav123_runs_one_pass(shared_data, uav123_layout, tmp_path):
    root, truth = uav123_layout
    name = sorted(truth)[-1]
    out = tmp_path / "eval"
    result = invoke("eval", "--benchmark", "uav123", "--root", root, "--sequences", name, "--weights",
                    shared_data / "weights" / "siamfc_alexnet.safetensors", "--out", out, "--threads", "2")
    assert result.exit_code == 0, result.output
    scores = json.loads((out / "scores.json").read_text())["siamfc"]
    assert name in scores["sequences"] and 0 < scores["auc"] <= 1


def test_eval_trackingnet_test_split_writes_the_server_zip(shared_data, tmp_path):
    """TrackingNet's test split ships the first box only: eval writes `<out>/<tracker>.zip`, one
    `<seq>.txt` per sequence with a box per frame, instead of scores."""
    import zipfile

    from siamcore.datasets import load_otb

    couple = load_otb(shared_data / "otb", ["Couple"])[0]
    chunk = tmp_path / "TrackingNet" / "TEST"
    frames = chunk / "frames" / "couple_test"
    frames.mkdir(parents=True)
    for i, src in enumerate(couple.frames[:12]):
        (frames / f"{i}.jpg").write_bytes(Path(src).read_bytes())
    (chunk / "anno").mkdir()
    x, y, w, h = couple.gt_xywh[0]
    (chunk / "anno" / "couple_test.txt").write_text(f"{x},{y},{w},{h}\n")
    out = tmp_path / "eval"
    result = invoke("eval", "--benchmark", "trackingnet", "--root", tmp_path / "TrackingNet", "--weights",
                    shared_data / "weights" / "siamfc_alexnet.safetensors", "--out", out, "--threads", "2")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out / "siamfc.zip") as zf:
        assert zf.namelist() == ["couple_test.txt"]
        rows = zf.read("couple_test.txt").decode().splitlines()
    assert len(rows) == 12 and all(len(r.split(",")) == 4 for r in rows)
    assert not (out / "scores.json").exists()


def test_tune_over_several_datasets_of_other_layouts(shared_data, tmp_path):
    """Tracking settings come from training-side data of several layouts at once (aerial tracks in the
    OTB layout, DAVIS): every named sequence is found in whichever root has it and scored."""
    weights = shared_data / "weights" / "siamfc_alexnet.safetensors"
    result = invoke("tune", "--weights", weights, "--root", shared_data / "uav", "--layout", "otb",
                    "--root", shared_data / "davis2016", "--layout", "davis", "--sequences", "S1606,blackswan",
                    "--grid", "window_influence=0.176", "--threads", "2")
    assert result.exit_code == 0, result.output
    assert "1 parameter sets x 2 sequences" in result.text and "blackswan" in result.text
    bad = invoke("tune", "--weights", weights, "--root", shared_data / "uav", "--root", shared_data / "davis2016",
                 "--layout", "otb", "--layout", "davis", "--layout", "vot", "--grid", "window_influence=0.1")
    assert bad.exit_code == 2 and "one --layout" in bad.text
