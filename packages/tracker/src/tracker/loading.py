"""The tracker a command asked for: torch threads and device, then the weights (a file or a trainer run
folder) or an ONNX export, with their tracking parameters. Every refusal is a
:class:`~tracker.errors.UsageError` that names the flag to change."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

BACKENDS = ("torch", "onnxruntime")


def setup_torch(threads: int, device: str) -> None:
    """``threads`` CPU threads for the network (0: those this process may use) on ``device``."""
    import torch

    from siamcore.cpus import usable_cpus

    torch.set_num_threads(threads if threads > 0 else usable_cpus())
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device} asked for but CUDA is not available; use --device cpu")


def load_tracker(weights: Path, model: str | None, params: Path | None, device: str, backend: str = "torch",
                 threads: int = 0):
    """The online tracker of ``weights`` on ``backend`` (``device`` auto: cuda when available)."""
    import torch

    from .online import ParamsError, load_tracker as load_online_tracker

    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "onnxruntime":
        return load_onnx_tracker(weights, model, params, device, threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return load_online_tracker(weights, model_name=model, params_path=params, device=device)
    except KeyError as e:  # unknown model name; str() of a KeyError would add quotes
        raise UsageError(f"{e.args[0]} (--model)") from None
    except (FileNotFoundError, ValueError, ParamsError) as e:
        raise UsageError(str(e)) from None


def load_onnx_tracker(folder: Path, model: str | None, params: Path | None, device: str, threads: int):
    """``--backend onnxruntime``: the tracker of an ONNX export folder (CPU only)."""
    from .online import ParamsError
    from .onnx_runtime import load_onnx_tracker as load_export

    if device not in ("auto", "cpu"):
        raise UsageError(f"--backend onnxruntime runs on the CPU; drop --device {device} or use --backend torch")
    try:
        tracker = load_export(folder, params_path=params, threads=threads)
    except (ImportError, FileNotFoundError, ValueError, ParamsError) as e:
        raise UsageError(str(e)) from None
    if model is not None and tracker.name != model:
        raise UsageError(f"{folder} holds an export of {tracker.name!r}, not of --model {model!r}")
    return tracker


def export_model(weights: Path, onnx: Path | None, model: str | None, params: Path | None, opset: int,
                 threads: int = 0):
    """``tracker export --onnx DIR``: the model of ``weights`` as ONNX graphs and their sidecar
    (:mod:`tracker.onnx_export`); returns the model's name and the sidecar's path."""
    from .online import ParamsError, resolve_weights_path
    from .online.factory import params_for_weights
    from .weights import load_model

    if onnx is None:
        raise UsageError("nothing to export: give --onnx DIR")
    if onnx.exists() and not onnx.is_dir():
        raise UsageError(f"--onnx {onnx} is a file; the export is a folder (template.onnx, detect.onnx, "
                         "tracker.json): give a folder name")
    setup_torch(threads, "cpu")
    try:
        import onnx as _onnx  # noqa: F401  (onnx.checker validates the graphs)
    except ImportError:
        raise UsageError("tracker export --onnx needs the onnx package: pip install onnx (or "
                         "'siamtrack-tracker[onnx]')") from None
    from .onnx_export import export_onnx

    try:
        path = resolve_weights_path(weights)
        net = load_model(path, model_name=model)
        return net.name, export_onnx(net, onnx, params_for_weights(path, net.name, params), source_weights=path,
                                     opset=opset)
    except KeyError as e:
        raise UsageError(f"{e.args[0]} (--model)") from None
    except (FileNotFoundError, ValueError, ParamsError) as e:
        raise UsageError(str(e)) from None
