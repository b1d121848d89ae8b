"""Tampered, broken or hostile ONNX exports and weights files are refused with one line naming the file
and the key (issue 19, cases 1 and 3-6), and an honest export still tracks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

pytest.importorskip("onnxruntime")

from tracker.models import create_model  # noqa: E402
from tracker.onnx_export import SIDECAR, export_onnx  # noqa: E402
from tracker.onnx_manifest import ExportError  # noqa: E402
from tracker.onnx_runtime import load_onnx_tracker  # noqa: E402
from tracker.online.params import ParamsError  # noqa: E402
from tracker.weights import load_model, read_metadata, save_model  # noqa: E402

from testkit.models import TINY_CONFIGS  # noqa: E402

from .conftest import rehash_export_file  # noqa: E402


@pytest.fixture(scope="module")
def rpn_export(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("export") / "rpn"
    export_onnx(create_model("siamrpn", **TINY_CONFIGS["siamrpn"]).eval(), folder, check=False)
    return folder


def _copy(export: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    folder.mkdir()
    for f in export.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def _edit(folder: Path, change) -> None:
    info = json.loads((folder / SIDECAR).read_text())
    change(info)
    (folder / SIDECAR).write_text(json.dumps(info))


@pytest.mark.parametrize("key, written, message", [
    ("template", "../../../../etc/passwd", "leads outside"),
    ("template", "/etc/passwd", "absolute path"),
    ("detect", "../outside/detect.onnx", "leads outside"),
    ("default_boxes", "../default_boxes.npy", "leads outside"),
])
def test_files_named_outside_the_export_are_never_opened(rpn_export, tmp_path, key, written, message):
    folder = _copy(rpn_export, tmp_path)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "detect.onnx").write_bytes((folder / "detect.onnx").read_bytes())
    (tmp_path / "default_boxes.npy").write_bytes((folder / "default_boxes.npy").read_bytes())
    _edit(folder, lambda info: (info["graphs"].get(key) or info[key]).update(file=written))
    with pytest.raises(ValueError, match=f"{key}.file = .{written}..*{message}"):
        load_onnx_tracker(folder)


@pytest.mark.parametrize("change, error, message", [
    (lambda i: i["params"].update(penalty_k=1e9), ParamsError, "penalty_k must be in"),
    (lambda i: i["params"].update(window_influence=float("nan")), ParamsError, "window_influence must be a finite"),
    (lambda i: i["views"]["exemplar"].update(size=200000), ExportError, "views.exemplar.size must be an integer"),
    (lambda i: i["views"]["search"].update(size=-5), ExportError, "views.search.size"),
    (lambda i: i["views"]["search"].update(size=0), ExportError, "views.search.size"),
    (lambda i: i["views"]["search"].update(size="big"), ExportError, "views.search.size"),
    (lambda i: i.pop("graphs"), ExportError, "graphs must hold exactly"),
    (lambda i: i.pop("model"), ExportError, "model must be one of"),
    (lambda i: i.pop("views"), ExportError, "views must hold"),
    (lambda i: i["graphs"]["detect"].pop("file"), ValueError, "graphs.detect.file must be a non-empty"),
    (lambda i: i.pop("variances"), ExportError, "variances must be two"),
    (lambda i: i["graphs"].update(extra={}), ExportError, "graphs must hold exactly"),
    (lambda i: i.update(views=[1, 2]), ExportError, "views must hold"),
])
def test_sidecar_values_out_of_bounds_or_missing_are_refused(rpn_export, tmp_path, change, error, message):
    folder = _copy(rpn_export, tmp_path)
    _edit(folder, change)
    with pytest.raises(error, match=message):
        load_onnx_tracker(folder)


def test_siamfc_params_asking_for_a_huge_response_are_refused():
    from tracker.online.params import default_params, params_from_dict

    with pytest.raises(ParamsError, match=r"tracker.json: response_upsample must be in \[1, 64\], got 1000000"):
        params_from_dict(default_params("siamfc"), {"response_upsample": 10**6}, "tracker.json")


def test_a_deeply_nested_sidecar_is_refused_cleanly(rpn_export, tmp_path):
    folder = _copy(rpn_export, tmp_path)
    (folder / SIDECAR).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ExportError, match="nested too deeply"):
        load_onnx_tracker(folder)


def test_a_graph_changed_after_export_is_refused(rpn_export, tmp_path):
    folder = _copy(rpn_export, tmp_path)
    data = bytearray((folder / "template.onnx").read_bytes())
    data[-200] ^= 0x80  # one flipped sign bit in a weight near the end
    (folder / "template.onnx").write_bytes(bytes(data))
    with pytest.raises(ExportError, match="graphs.template.sha256 does not match template.onnx"):
        load_onnx_tracker(folder)


def test_forged_or_nan_default_boxes_are_refused(rpn_export, tmp_path):
    folder = _copy(rpn_export, tmp_path)
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**11, 4)}
    with open(folder / "default_boxes.npy", "wb") as f:  # a header claiming 1.6 TB, no data
        np.lib.format.write_array_header_1_0(f, header)
    rehash_export_file(folder, "default_boxes")
    with pytest.raises(ExportError, match=r"float \[N, 4\] array"):
        load_onnx_tracker(folder)
    boxes = np.load(rpn_export / "default_boxes.npy")
    boxes[3, 2] = np.nan
    np.save(folder / "default_boxes.npy", boxes)
    rehash_export_file(folder, "default_boxes")
    with pytest.raises(ExportError, match="must be finite"):
        load_onnx_tracker(folder)


def test_outputs_are_taken_by_name_not_position(rpn_export, tmp_path):
    onnx = pytest.importorskip("onnx")
    folder = _copy(rpn_export, tmp_path)
    graph = onnx.load(str(folder / "detect.onnx"))
    first = graph.graph.output[1]  # loc_deltas, also offered as a new first output named "extra"
    graph.graph.node.append(onnx.helper.make_node("Identity", [first.name], ["extra"]))
    extra = onnx.helper.make_tensor_value_info("extra", first.type.tensor_type.elem_type, None)
    graph.graph.output.insert(0, extra)
    onnx.save(graph, str(folder / "detect.onnx"))
    rehash_export_file(folder, "detect")
    frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    boxes = []
    for export in (rpn_export, folder):
        tracker = load_onnx_tracker(export)
        tracker.init(frame, (60, 40, 30, 30))
        boxes.append(tracker.track(frame)[0])
    np.testing.assert_array_equal(boxes[0], boxes[1])


def test_an_export_holding_nan_weights_is_refused_at_load(rpn_export, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    folder = _copy(rpn_export, tmp_path)
    graph = onnx.load(str(folder / "detect.onnx"))
    tensor = next(t for t in graph.graph.initializer if numpy_helper.to_array(t).dtype.kind == "f"
                  and numpy_helper.to_array(t).size > 1)
    values = numpy_helper.to_array(tensor).copy()
    values.flat[0] = np.nan
    tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
    onnx.save(graph, str(folder / "detect.onnx"))
    rehash_export_file(folder, "detect")  # as an export made from NaN weights would have it
    with pytest.raises(ExportError, match=f"weight '{tensor.name}' holds NaN"):
        load_onnx_tracker(folder)


def _weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_model(create_model("siamrpn", **TINY_CONFIGS["siamrpn"]).eval(), tmp_path / "w.safetensors")


@pytest.mark.parametrize("poison, message", [
    (lambda t: t.fill_(float("nan")), "holds NaN or infinite"),
    (lambda t: t.fill_(float("inf")), "holds NaN or infinite"),
    (lambda t: t.to(torch.int8), "must be floating point"),
])
def test_nan_infinite_or_integer_weights_are_refused_at_load_and_export(tmp_path, poison, message):
    path = _weights(tmp_path)
    state, metadata = load_file(str(path)), read_metadata(path)
    key = next(k for k in state if k.endswith("weight"))
    state[key] = poison(state[key].clone())
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=f"{key} {message}" if "NaN" in message else message):
        load_model(path)
    model = create_model("siamrpn", **TINY_CONFIGS["siamrpn"]).eval()
    with torch.no_grad():
        if state[key].is_floating_point():
            model.state_dict()[key].copy_(state[key])
            with pytest.raises(ValueError, match=message):
                export_onnx(model, tmp_path / "export", check=False)


def test_a_weights_file_asking_for_a_huge_model_is_refused_before_allocating(tmp_path):
    path = _weights(tmp_path)
    state, metadata = load_file(str(path)), read_metadata(path)
    config = json.loads(metadata["config"])
    config["channels"] = 10**6
    save_file(state, str(path), metadata={**metadata, "config": json.dumps(config)})
    with pytest.raises(ValueError, match="config channels must be an integer in"):
        load_model(path)
