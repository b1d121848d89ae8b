"""The ONNX Runtime backend: an exported folder (:mod:`tracker.onnx_export`) standing in for the torch model.

:class:`OnnxModel` answers the calls the online trackers make on a model (``template``, ``detect``,
``score``, ``views``, ``default_boxes_cxcywh`` ...), so :func:`load_onnx_tracker` builds the *same*
:class:`~tracker.online.SiamFCTracker` / :class:`~tracker.online.RPNTracker` with the same crops and
post-processing; only the two network calls go through ``onnxruntime.InferenceSession``
(CPUExecutionProvider, all graph optimisations). The graphs take NHWC crops: the trackers' crop
batches are channels-last, so a batch reaches onnxruntime without a copy.

onnxruntime is imported only here, and only when an export is loaded: the tracker package works
without it, and asking for this backend without it says how to install it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from siamcore.cpus import usable_cpus
from siamcore.crop import View

from .models import model_class
from .onnx_export import SIDECAR
from .onnx_manifest import ExportError, check_export

INSTALL_HINT = "pip install onnxruntime (or install the tracker with its extra: pip install 'siamtrack-tracker[onnx]')"


def import_onnxruntime():
    """``onnxruntime``, or an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"the onnxruntime backend needs the onnxruntime package: {INSTALL_HINT}") from exc
    return onnxruntime


def read_export(path: Path) -> tuple[Path, dict]:
    """``(folder, sidecar)`` of an export given as its folder or its ``tracker.json``, checked as a whole
    (:func:`tracker.onnx_manifest.check_export`); FileNotFoundError / ValueError that say what to do."""
    path = Path(path)
    folder = path.parent if path.is_file() and path.name == SIDECAR else path
    hint = "export one with: tracker export --weights W --onnx DIR"
    if path.is_file() and path.name != SIDECAR:
        raise ValueError(f"{path} is a file, not an ONNX export folder; the onnxruntime backend takes the "
                         f"folder that tracker export --onnx wrote ({hint})")
    if not folder.is_dir():
        raise FileNotFoundError(f"ONNX export folder not found: {path} ({hint})")
    if not (folder / SIDECAR).is_file():
        raise FileNotFoundError(f"{folder} is not an ONNX export: no {SIDECAR} in it ({hint})")
    return folder, check_export(folder)


def session_options(ort, threads: int = 0, spinning: bool = False):
    """Sequential execution on ``threads`` intra-op threads (0: the CPUs this process may use,
    :func:`siamcore.cpus.usable_cpus`, where onnxruntime would count the machine's cores), all graph
    optimisations (constant folding, conv + activation fusion, NCHWc layouts on x86).

    ``spinning=False``: idle pool threads sleep instead of spinning between operators, as torch's OpenMP
    threads do here (:func:`siamcore.cpus.choose_openmp_waiting`): a spinning thread takes the core
    that another process, or the other backend, needs (``benchmarks/tracker_fps.py --busy``)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = int(threads) if threads > 0 else usable_cpus()
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return opts


def _image(x) -> np.ndarray:
    """An NCHW image batch as the graphs' NHWC array: a view of a channels-last tensor, a copy otherwise."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().permute(0, 2, 3, 1).numpy()
    else:
        x = np.transpose(x, (0, 2, 3, 1))
    return np.ascontiguousarray(x, dtype=np.float32)


def _numpy(x) -> np.ndarray:
    """A float32 C-contiguous array of a tensor or array (no copy when it already is one)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


class OnnxModel:
    """The model interface the online trackers use, backed by the two graphs of an export.

    Template states are lists of numpy arrays (the trackers only hand them back to ``detect``);
    ``detect`` / ``score`` return torch tensors, as the torch models do.
    """

    def __init__(self, path: Path, threads: int = 0, spinning: bool = False):
        ort = import_onnxruntime()
        self.folder, self.info = read_export(path)
        info = self.info
        self.name = info["model"]
        self.online_tracker = model_class(self.name).online_tracker  # which tracker class post-processes it
        self.needs_guide = bool(info.get("needs_guide", False))
        self.views = {role: View(**v) for role, v in info["views"].items()}
        if "default_boxes" in info:
            boxes = np.load(info["default_boxes"]["path"], allow_pickle=False)
            if not np.isfinite(boxes).all() or not (boxes[:, 2:] > 0).all():
                raise ExportError(f"{info['default_boxes']['path']}: default boxes must be finite with positive sizes")
            self.default_boxes_cxcywh = torch.from_numpy(boxes.astype(np.float32))
            self.variances = tuple(float(v) for v in info["variances"])
        opts = session_options(ort, threads, spinning)
        self.sessions = {}
        for role, graph in info["graphs"].items():
            try:
                self.sessions[role] = ort.InferenceSession(str(graph["path"]), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
                raise ExportError(f"{graph['path']}: onnxruntime cannot load it: {exc}") from None
        self._t_inputs = [i.name for i in self.sessions["template"].get_inputs()]
        self._d_inputs = [i.name for i in self.sessions["detect"].get_inputs()]
        # Outputs are asked for by the names the export recorded, never taken by position; the template's
        # outputs are fed to the detect graph under the same names.
        self._t_outputs = info["graphs"]["template"]["outputs"]
        self._d_outputs = info["graphs"]["detect"]["outputs"]
        for role, wanted, have in (
            ("template", self._t_outputs, {o.name for o in self.sessions["template"].get_outputs()}),
            ("detect", self._d_outputs, {o.name for o in self.sessions["detect"].get_outputs()}),
            ("detect", self._t_outputs, set(self._d_inputs)),
        ):
            missing = [n for n in wanted if n not in have]
            if missing:
                raise ExportError(f"{info['graphs'][role]['path']}: {', '.join(missing)} missing; "
                                  f"it has {', '.join(sorted(have))}")

    # The torch-module calls OnlineTracker makes on its model: nothing to do here.
    def eval(self):
        return self

    def to(self, *args, **kwargs):
        return self

    def parameters(self):
        return iter(())

    def template(self, exemplar, exemplar_guide=None) -> list[np.ndarray]:
        feed = {"exemplar": _image(exemplar)}
        if "exemplar_guide" in self._t_inputs:
            feed["exemplar_guide"] = _numpy(exemplar_guide)
        return self.sessions["template"].run(self._t_outputs, feed)

    def _detect(self, template: list[np.ndarray], search, search_guide=None) -> list[np.ndarray]:
        feed = {"search": _image(search)}
        if "search_guide" in self._d_inputs:
            feed["search_guide"] = _numpy(search_guide)
        feed.update(zip(self._t_outputs, template))
        return self.sessions["detect"].run(self._d_outputs, feed)

    def detect(self, template, search, search_guide=None):
        """``(conf_logits [1, N], loc_deltas [1, N, 4])`` (RPN family)."""
        conf, loc = self._detect(template, search, search_guide)
        return torch.from_numpy(conf), torch.from_numpy(loc)

    def score(self, template, search):
        """SiamFC's score maps ``[B, 1, 17, 17]``."""
        return torch.from_numpy(self._detect(template, search)[0])


def load_onnx_tracker(path: Path, params_path: Path | None = None, threads: int = 0, spinning: bool = False):
    """The online tracker of an ONNX export: its model's tracker class with the sidecar's tracking
    parameters (or ``params_path``'s, as ``--params`` does for torch weights)."""
    from .online import build_tracker
    from .online.params import default_params, load_params, params_from_dict

    model = OnnxModel(path, threads, spinning)
    if params_path is not None:
        params = load_params(params_path, model.name)
    else:
        params = params_from_dict(default_params(model.name), model.info.get("params", {}),
                                  str(model.folder / SIDECAR))
    return build_tracker(model, params, channels_last=True)
