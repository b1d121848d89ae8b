"""``trainer``: train SiamRPN-family trackers on dataprep shards, and export the weights.

    trainer fit --config pipelines/train/siamrpn.toml --shards shards/vid shards/trackingnet
    trainer fit --resume runs/siamrpn-20250101-120000
    torchrun --nproc_per_node 4 -m trainer fit --config ... --shards ... --run-dir runs/x
    trainer export runs/siamrpn-20250101-120000 --out siamrpn.safetensors
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console

from siamcore.exits import EXIT_INTERRUPTED, EXIT_USAGE, fail
from siamcore.progress import console_width

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Train SiamRPN, SiamConcatRPN and SiamBroadcastRPN on LMDB shards written by `dataprep build`.",
)
err = Console(stderr=True, soft_wrap=True, width=console_width(sys.stderr))


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Refuse with ``message`` (a failure during training is a Python traceback and exit 1)."""
    fail(err, message, code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def fit(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", help="TOML config (pipelines/train/<model>.toml). Unknown keys are errors."
    ),
    shards: list[Path] = typer.Option(
        [], "--shards", help="Build folder(s) of `dataprep build`: --shards A B C (mixture weights: data.weights)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a config value, e.g. --set train.batch_size=32 (repeat --set for more)."
    ),
    device: Optional[str] = typer.Option(
        None, "--device", help="auto | cuda | cpu (default: config train.device, else auto: cuda when available)."
    ),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many optimiser steps in total."),
    run_dir: Optional[Path] = typer.Option(
        None, "--run-dir", help="Run folder (config, TensorBoard logs, checkpoints, export). Default runs/<model>-<time>."
    ),
    resume: Optional[Path] = typer.Option(
        None, "--resume", help="Continue this run folder exactly from its newest checkpoint, with its config.toml."
    ),
    backbone_weights: Optional[Path] = typer.Option(
        None, "--backbone-weights", help="torchvision-named ImageNet weights or the SiamFC AlexNet weights."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a model on shard folders; writes RUN/config.toml (the resolved config), RUN/tb (TensorBoard),
    RUN/checkpoints and RUN/export/model.safetensors.

    Example: trainer fit -c pipelines/train/siamrpn.toml --shards shards/vid shards/trackingnet

    Multi-GPU: torchrun --nproc_per_node 8 -m trainer fit -c ... --shards ... --run-dir runs/x

    Ctrl-C stops after the current step and writes a checkpoint; --resume RUN continues exactly.
    """
    from trainer.checkpoint import list_checkpoints
    from trainer.config import ConfigError, load_config
    from trainer.sources import DataError
    from trainer.loop import RunFolderInUse, fit as run_fit
    from trainer.run_state import ResumeError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    extra = list(ctx.args)
    if any("=" in a for a in extra):
        _fail(f"unexpected arguments {extra}: repeat --set for each override (--set a.b=1 --set c.d=2)")
    shards = [*shards, *map(Path, extra)]
    try:
        if resume is not None:
            saved = resume / "config.toml"
            if not saved.is_file():
                _fail(f"{resume} is not a run folder (no config.toml); pass the folder `trainer fit` created")
            cfg = load_config(saved, set_)
            if config is not None:
                asked = load_config(config)
                if (asked.model.name, asked.model.args) != (cfg.model.name, cfg.model.args):
                    _fail(
                        f"{resume} is a {cfg.model.name!r} run (args {cfg.model.args}); {config} asks for "
                        f"{asked.model.name!r} (args {asked.model.args}): resume without --config or start a new run"
                    )
            run = resume
        else:
            cfg = load_config(config, set_)
        if shards:
            cfg.data.shards = [str(p) for p in shards]
        if device is not None:
            cfg.train.device = device
        if max_steps is not None:
            cfg.train.max_steps = max_steps
        if backbone_weights is not None:
            cfg.model.backbone_weights = str(backbone_weights)
        cfg.check()
        if not cfg.data.shards:
            _fail("no shard folders: pass --shards DIR [DIR ...] (folders written by `dataprep build`)")
        if resume is None:
            run = run_dir or Path("runs") / f"{cfg.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"
            run = _agree_on_run_dir(run, cfg.train.device)
            if list_checkpoints(run):  # a killed write's temp file alone is no run to continue: removed
                _fail(f"{run} already holds checkpoints: continue it with --resume {run} or pick another --run-dir")
        result = run_fit(cfg, run, resume=resume is not None, progress=not quiet)
    except (ConfigError, DataError, ResumeError, RunFolderInUse, FileNotFoundError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED)
    except Exception as exc:
        from siamcore.schema import SchemaError

        if isinstance(exc, SchemaError):
            _fail(str(exc))
        raise
    if not quiet:
        err.print(f"run folder: {result.run_dir} (step {result.step}, last loss {result.last_loss:.4f})", markup=False)


def _agree_on_run_dir(run: Path, device_name: str) -> Path:
    """Under torchrun every rank must use rank 0's folder name (it holds a timestamp)."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return run
    from trainer.distributed import broadcast_str
    from trainer.run_state import setup_process

    device, info = setup_process(device_name)
    return Path(broadcast_str(str(run), info, device))


@app.command()
def export(
    run: Path = typer.Argument(..., help="Run folder written by `trainer fit`."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the weights here (.safetensors)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A specific checkpoint (default: newest)."),
) -> None:
    """Write RUN/export/model.safetensors (what `tracker eval RUN` loads) and optionally --out."""
    from trainer.export import export_run

    try:
        written = export_run(run, out, checkpoint,
                             warn=lambda text: err.print(f"warning: {text}", style="yellow", markup=False))
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    for path in written:
        err.print(f"wrote {path}", markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
