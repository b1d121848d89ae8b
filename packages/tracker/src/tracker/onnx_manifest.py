"""An ONNX export folder checked as a whole before anything in it is used.

``tracker.json`` is input like any other file: a tampered or broken one must be refused with one line
that names the file and the key, never followed. The checks, in order: size and nesting of the JSON;
keys and types; views, tracking parameters and default boxes bounded by what the model can use; every
file named in it inside the folder (:func:`siamcore.paths.join_inside`) with the sha256 recorded at
export; the graphs' output names listed (:class:`tracker.onnx_runtime.OnnxModel` asks for those by name).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from siamcore.paths import join_inside
from siamcore.shards import file_sha256

from .models import list_models, model_class
from .onnx_export import FORMAT, FORMAT_VERSION, SIDECAR

MAX_SIDECAR_BYTES = 1 << 20
MAX_VIEW_SIZE = 1024  # px: a crop side no tracker here uses beyond this
MAX_DEFAULT_BOXES = 100_000
GRAPH_ROLES = ("template", "detect")


class ExportError(ValueError):
    """An export folder that cannot be used as written (names the file and the key)."""


def _need(cond: bool, sidecar: Path, key: str, what: str) -> None:
    if not cond:
        raise ExportError(f"{sidecar}: {key} {what}")


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_sidecar(sidecar: Path) -> dict:
    """The parsed ``tracker.json``: a JSON object of at most 1 MiB, any nesting refused cleanly."""
    _need(sidecar.stat().st_size <= MAX_SIDECAR_BYTES, sidecar, "file", f"is over {MAX_SIDECAR_BYTES} bytes")
    try:
        info = json.loads(sidecar.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{sidecar} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ExportError(f"{sidecar} is nested too deeply to be an export sidecar") from None
    _need(isinstance(info, dict), sidecar, "top level", "must be a JSON object")
    return info


def _checked_file(folder: Path, sidecar: Path, key: str, entry) -> Path:
    _need(isinstance(entry, dict), sidecar, key, "must be an object with file and sha256")
    path = join_inside(folder, entry.get("file"), sidecar, f"{key}.file")
    _need(path.is_file(), sidecar, f"{key}.file", f"= {entry['file']!r}: {entry['file']} missing from {folder}")
    digest = entry.get("sha256")
    _need(isinstance(digest, str) and len(digest) == 64, sidecar, f"{key}.sha256", "must be a sha256 hex digest")
    _need(file_sha256(path) == digest, sidecar, f"{key}.sha256",
          f"does not match {path.name}: the file changed after export; export again")
    return path


def _check_views(sidecar: Path, views) -> None:
    _need(isinstance(views, dict) and {"exemplar", "search"} <= set(views), sidecar, "views",
          "must hold the exemplar and search views")
    for role, view in views.items():
        key = f"views.{role}"
        _need(isinstance(view, dict) and set(view) <= {"size", "context", "extent"} and {"size", "context"} <= set(view),
              sidecar, key, "must be {size, context[, extent]}")
        size = view["size"]
        _need(isinstance(size, int) and not isinstance(size, bool) and 16 <= size <= MAX_VIEW_SIZE, sidecar,
              f"{key}.size", f"must be an integer in [16, {MAX_VIEW_SIZE}], got {size!r}")
        for name in ("context", "extent"):
            if name in view:
                value = view[name]
                _need(_finite_number(value) and 0 < value <= 100, sidecar, f"{key}.{name}",
                      f"must be a finite number in (0, 100], got {value!r}")


def _check_default_boxes(folder: Path, sidecar: Path, info: dict) -> Path:
    path = _checked_file(folder, sidecar, "default_boxes", info.get("default_boxes"))
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f".npy format version {version} is not one numpy writes for these arrays")
            shape, _, dtype = read_header(f)  # the header only: a forged shape allocates nothing
        except ValueError as exc:
            raise ExportError(f"{path}: not a .npy array: {exc}") from None
    _need(len(shape) == 2 and shape[1] == 4 and 1 <= shape[0] <= MAX_DEFAULT_BOXES and dtype.kind == "f",
          sidecar, "default_boxes", f"must be a float [N, 4] array with N <= {MAX_DEFAULT_BOXES}, got {dtype} {shape}")
    variances = info.get("variances")
    _need(isinstance(variances, list) and len(variances) == 2 and all(_finite_number(v) and v > 0 for v in variances),
          sidecar, "variances", f"must be two finite positive numbers, got {variances!r}")
    return path


def _check_graph_weights(path: Path) -> None:
    """Every floating-point weight of the graph finite: an export made from NaN weights (refused at export
    since, but a file may come from elsewhere with a matching sha256) would track nowhere without a word.
    Needs the ``onnx`` package (the tracker's ``[onnx]`` extra installs it); skipped without it."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # onnx raises DecodeError and others for a file that is no ONNX protobuf
        raise ExportError(f"{path}: not an ONNX graph: {exc}") from None
    for tensor in graph.initializer:
        values = numpy_helper.to_array(tensor)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ExportError(f"{path}: weight {tensor.name!r} holds NaN or infinite values")


def check_export(folder: Path) -> dict:
    """The sidecar of the export ``folder``, every check above passed; :class:`ExportError` otherwise.
    The graphs' and arrays' paths are resolved (``info["graphs"][role]["path"]``, ``info["default_boxes"]["path"]``)."""
    sidecar = folder / SIDECAR
    info = load_sidecar(sidecar)
    _need(info.get("format") == FORMAT, sidecar, "format", f"must be {FORMAT!r}")
    _need(info.get("format_version") == FORMAT_VERSION, sidecar, "format_version",
          f"is {info.get('format_version')!r}, this tracker reads {FORMAT_VERSION}; export again with this version")
    _need(info.get("model") in list_models(), sidecar, "model", f"must be one of {', '.join(list_models())}")
    _need(isinstance(info.get("needs_guide", False), bool), sidecar, "needs_guide", "must be true or false")
    _need(isinstance(info.get("params", {}), dict), sidecar, "params", "must be an object")
    _check_views(sidecar, info.get("views"))
    graphs = info.get("graphs")
    _need(isinstance(graphs, dict) and set(graphs) == set(GRAPH_ROLES), sidecar, "graphs",
          f"must hold exactly {' and '.join(GRAPH_ROLES)}")
    for role in GRAPH_ROLES:
        graphs[role]["path"] = _checked_file(folder, sidecar, f"graphs.{role}", graphs[role])
        outputs = graphs[role].get("outputs")
        _need(isinstance(outputs, list) and outputs and all(isinstance(o, str) for o in outputs), sidecar,
              f"graphs.{role}.outputs", "must be a non-empty list of output names")
        _check_graph_weights(graphs[role]["path"])
    if model_class(info["model"]).online_tracker != "siamfc":  # the RPN family decodes default boxes
        info["default_boxes"]["path"] = _check_default_boxes(folder, sidecar, info)
    return info
