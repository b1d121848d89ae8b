"""Export a model as two ONNX graphs plus a JSON sidecar, so a tracker can run without torch weights.

The online trackers call the network twice over: ``template`` once per target, then ``detect`` (SiamFC:
``score``) on every frame. The export keeps exactly that split, so :mod:`tracker.onnx_runtime` can
stand in for the torch model under the *same* tracker classes and post-processing:

- ``template.onnx``: ``exemplar [1, E, E, 3]`` (+ ``exemplar_guide [1, 1, E, E]`` for models with
  guides) -> ``template_0 .. template_{n-1}`` (the model's template state, flattened);
- ``detect.onnx``: ``search [B, S, S, 3]`` (+ ``search_guide``) and the template outputs -> ``score``
  (SiamFC, ``B`` dynamic: 3 scales per frame, 1 for the first frame's reference peak) or
  ``conf_logits [1, N]`` and ``loc_deltas [1, N, 4]`` (RPN family, ``B = 1``);
- ``tracker.json``: model name, config and views, the tracking parameters, input shapes, opset,
  the source weights' sha256 and the graphs' files; RPN models also get ``default_boxes.npy`` (the
  exact float32 default boxes the post-processing decodes against).

Crops enter as NHWC float (RGB 0..255): the trackers' crop batches are channels-last, so a batch is
handed to onnxruntime as it lies in memory (no copy, no torch thread-pool work beside onnxruntime's
threads); the graph's first node transposes it to the NCHW the network takes.

The legacy TorchScript exporter (``dynamo=False``) is used: it folds constants and batch norm into
the convs in eval mode, needs no onnxscript, and gives the same graph on every run.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from siamcore.atomic import write_bytes_atomic
from siamcore.shards import file_sha256
from torch import nn

from .models import box_mask
from .weights import check_weights

FORMAT = "siamtrack-onnx"
FORMAT_VERSION = 1
SIDECAR = "tracker.json"
DEFAULT_OPSET = 17
SIAMFC_SCALES = 3  # the batch the SiamFC detect graph is exported (and first checked) with


def outputs_score_map(model) -> bool:
    """SiamFC-style models (``online_tracker = "siamfc"``): ``template(exemplar)`` then ``score`` maps of a
    batch of scales; the RPN family: guided ``template``/``detect`` with default boxes."""
    return model.online_tracker == "siamfc"


def _as_tuple(state) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


class TemplateGraph(nn.Module):
    """``template`` with the model's state flattened to a tuple of tensors (ONNX outputs are flat)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.guided = bool(getattr(model, "needs_guide", False))

    def forward(self, exemplar, exemplar_guide=None):
        exemplar = exemplar.permute(0, 3, 1, 2)  # NHWC input (module docstring)
        if outputs_score_map(self.model):
            return _as_tuple(self.model.template(exemplar))
        return _as_tuple(self.model.template(exemplar, exemplar_guide))


class DetectGraph(nn.Module):
    """``detect`` (SiamFC: ``score``) of a search batch against the flattened template state."""

    def __init__(self, model: nn.Module, n_template: int):
        super().__init__()
        self.model = model
        self.guided = bool(getattr(model, "needs_guide", False))
        self.n_template = n_template

    def forward(self, search, *rest):
        search = search.permute(0, 3, 1, 2)  # NHWC input (module docstring)
        guide = rest[0] if self.guided else None
        state = rest[1:] if self.guided else rest
        if outputs_score_map(self.model):
            return self.model.score(state[0], search)
        template = state[0] if self.n_template == 1 else tuple(state)
        return self.model.detect(template, search, guide)


def nhwc(images: torch.Tensor) -> torch.Tensor:
    """``[B, 3, H, W]`` -> the graphs' ``[B, H, W, 3]`` (contiguous)."""
    return images.permute(0, 2, 3, 1).contiguous()


def example_inputs(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs of the tracker's shapes: 0..255 RGB crops and (guided models) a centred box mask."""
    g = torch.Generator().manual_seed(seed)
    e, s = model.views["exemplar"].size, model.views["search"].size
    batch = SIAMFC_SCALES if outputs_score_map(model) else 1
    out = {"exemplar": torch.rand(1, 3, e, e, generator=g) * 255, "search": torch.rand(batch, 3, s, s, generator=g) * 255}
    if getattr(model, "needs_guide", False):
        out["exemplar_guide"] = box_mask(torch.tensor([[e * 0.35, e * 0.3, e * 0.65, e * 0.7]]), e)
        out["search_guide"] = box_mask(torch.tensor([[s * 0.4, s * 0.35, s * 0.62, s * 0.66]]), s)
    return out


def export_onnx(model: nn.Module, out_dir: Path, params=None, source_weights: Path | None = None,
                opset: int = DEFAULT_OPSET, check: bool = True) -> Path:
    """Write ``template.onnx``, ``detect.onnx`` and ``tracker.json`` (see module docstring) into ``out_dir``.

    ``params``: the tracking hyper-parameters recorded in the sidecar (default: the model's). Returns
    the sidecar's path. ``check`` runs ``onnx.checker`` on both graphs (needs ``onnx``).
    """
    from .online.params import default_params

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_weights(model.state_dict(), f"model {model.name!r}")
    model = model.to("cpu").eval().requires_grad_(False).to(memory_format=torch.contiguous_format)
    params = default_params(model.name) if params is None else params
    guided = bool(getattr(model, "needs_guide", False))
    siamfc = outputs_score_map(model)
    x = example_inputs(model)

    template_graph = TemplateGraph(model).eval()
    t_inputs = ("exemplar", "exemplar_guide") if guided else ("exemplar",)
    x["exemplar"], x["search"] = nhwc(x["exemplar"]), nhwc(x["search"])
    t_args = tuple(x[k] for k in t_inputs)
    with torch.inference_mode():
        state = template_graph(*t_args)
    t_outputs = tuple(f"template_{i}" for i in range(len(state)))
    detect_graph = DetectGraph(model, len(state)).eval()
    d_inputs = (("search", "search_guide") if guided else ("search",)) + t_outputs
    d_args = tuple(x[k] for k in d_inputs[: 2 if guided else 1]) + tuple(s.clone() for s in state)
    d_outputs = ("score",) if siamfc else ("conf_logits", "loc_deltas")
    dynamic = {"search": {0: "scales"}, "score": {0: "scales"}} if siamfc else None

    graphs = {}
    for role, graph, args, inputs, outputs, dyn in (
        ("template", template_graph, t_args, t_inputs, t_outputs, None),
        ("detect", detect_graph, d_args, d_inputs, d_outputs, dynamic),
    ):
        path = out_dir / f"{role}.onnx"
        tmp = path.with_suffix(".onnx.tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notes
            torch.onnx.export(graph, args, str(tmp), input_names=list(inputs), output_names=list(outputs),
                              dynamic_axes=dyn, opset_version=opset, do_constant_folding=True, dynamo=False)
        if check:
            import onnx

            onnx.checker.check_model(str(tmp), full_check=True)
        tmp.replace(path)
        graphs[role] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "inputs": {k: list(a.shape) for k, a in zip(inputs, args)},
            "outputs": list(outputs),
        }
        if dyn:
            graphs[role]["dynamic_axes"] = {k: {str(a): n for a, n in v.items()} for k, v in dyn.items()}

    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "config": model.config(),
        "views": {role: view.as_dict() for role, view in model.views.items()},
        "needs_guide": guided,
        "image_layout": "NHWC",
        "params": asdict(params),
        "graphs": graphs,
        "opset": opset,
        "exporter": f"torch {torch.__version__} (torch.onnx.export, dynamo=False)",
        "source_weights": None if source_weights is None else {
            "file": Path(source_weights).name, "sha256": file_sha256(Path(source_weights))},
    }
    if not siamfc:
        boxes = model.default_boxes_cxcywh.detach().cpu().numpy().astype(np.float32)
        np.save(out_dir / "default_boxes.npy", boxes)
        info["default_boxes"] = {"file": "default_boxes.npy", "shape": list(boxes.shape),
                                 "sha256": file_sha256(out_dir / "default_boxes.npy")}
        info["variances"] = list(model.variances)
    sidecar = out_dir / SIDECAR
    write_bytes_atomic(sidecar, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return sidecar
