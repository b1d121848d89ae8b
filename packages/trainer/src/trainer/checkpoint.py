"""Atomic, pickle-free checkpoints that resume a run exactly.

A checkpoint is a ``torch.save`` of tensors and plain Python values only (loadable with
``weights_only=True``): model and optimiser state dicts, the step counters and data position
(epoch, batches done in the epoch), RNG states as uint8 tensors, and the resolved config as a
dict (to refuse resuming with another model). Written to a temp file in the same folder, fsynced
and renamed, so a crash never leaves a half-written ``step_*.pt``; older ones beyond ``keep`` go.

A killed run still leaves its hidden temp file (up to a checkpoint in size): a run starting or resuming
in the folder removes those. A ``step_*.pt`` that does not load (a full disk, a copy cut short) costs
the steps since the previous checkpoint, not the run: :func:`load_newest` falls back past it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from siamcore.atomic import atomic_open, is_temp_name

CHECKPOINT_FORMAT = "siamtrack-trainer-checkpoint"  # a checkpoint's "format" value
CHECKPOINT_DIR = "checkpoints"
EXPORT_DIR = "export"
EXPORT_FILE = Path(EXPORT_DIR) / "model.safetensors"  # the run's weights for the tracker, in RUN/
_NAME = re.compile(r"^step_(\d{9})\.pt$")


class CheckpointError(ValueError):
    """A checkpoint file that does not load, or a run folder none of whose checkpoints loads."""


def atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_open(path) as f:
        torch.save(obj, f)


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:09d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(state: dict[str, Any], run_dir: Path, step: int, keep: int) -> Path:
    """Write ``state`` as the checkpoint of ``step`` and keep only the newest ``keep``."""
    path = checkpoint_path(run_dir, step)
    atomic_torch_save(state, path)
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The state saved in ``path``; CheckpointError (one line, not torch's advice to load with
    ``weights_only=False``) when the file is truncated, corrupt or not a torch file. A torch file is
    a zip archive whose index comes last, so a file cut short fails the first check."""
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        size = Path(path).stat().st_size
        raise CheckpointError(f"{path} does not load: not a whole torch file ({size} bytes; truncated or corrupt)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError ... by the damage
        reason = str(exc).strip().split("\n")[0].split(". ")[0] or type(exc).__name__
        raise CheckpointError(f"{path} does not load: {reason} (a corrupt file)") from None


def check_format(state: dict[str, Any], path: Path) -> None:
    """CheckpointError unless ``state`` (loaded from ``path``) is a trainer checkpoint: what ``--resume`` and
    ``trainer export`` both refuse before reading its config and weights."""
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a siamtrack trainer checkpoint")


def load_newest(run_dir: Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict[str, Any], list[str]]:
    """The newest checkpoint of ``run_dir`` that loads, its state, and why each newer one was skipped
    (one line each, naming the file). CheckpointError when there is none or none loads."""
    skipped = []
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path, map_location), skipped
        except CheckpointError as exc:
            skipped.append(str(exc))
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not skipped:
        raise CheckpointError(f"{run_dir} has no checkpoint (looked in {folder})")
    raise CheckpointError(f"no checkpoint in {folder} loads: {'; '.join(skipped)}")


def remove_stale_temp_files(run_dir: Path) -> list[tuple[Path, int]]:
    """Delete the temp files that runs killed while writing a checkpoint or the export left in
    ``run_dir`` (``.step_*.pt.tmp-<hex>``: nothing else ever removes them). Only names the atomic
    writer makes are touched, never a checkpoint. Call it when a run starts or resumes in the
    folder (one writer per run folder). Returns each removed file and its size in bytes."""
    removed = []
    for folder in (Path(run_dir) / CHECKPOINT_DIR, Path(run_dir) / EXPORT_DIR):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if is_temp_name(path.name) and path.is_file():
                size = path.stat().st_size
                path.unlink(missing_ok=True)
                removed.append((path, size))
    return removed


def rng_state() -> dict[str, Any]:
    """Torch RNG states as tensors (the trainer draws no other global randomness)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
