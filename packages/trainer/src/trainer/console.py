"""What a training run shows and logs: the progress bar (or plain lines in a log file), warnings, the
start-up summary, the per-interval scalars, the TensorBoard writer and the figures. Kept apart from
:mod:`trainer.loop` so that the loop reads as training steps only."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import torch

from siamcore.atomic import atomic_path
from siamcore.progress import ProgressBar, console_width
from trainer.distributed import DistInfo, all_reduce_sum

log = logging.getLogger(__name__)


class LogInterval:
    """Sums over one logging interval, kept on the device (no sync per step)."""

    KEYS = ("loss", "conf_loss", "reg_loss", "pos_correct", "pos", "neg_correct", "neg", "steps")

    def __init__(self, device: torch.device):
        self.device = device
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(len(self.KEYS), dtype=torch.float64, device=self.device)
        self.pairs = 0
        self.wait_s = 0.0
        self.start = time.perf_counter()

    def add(self, out, pairs: int, wait_s: float) -> None:
        self.sums += torch.stack([
            out.total.detach().double(), out.conf.detach().double(), out.reg.detach().double(),
            out.positive_correct.double(), out.num_positives.double(), out.negative_correct.double(),
            out.num_all_negatives.double(), torch.ones((), dtype=torch.float64, device=self.device),
        ])
        self.pairs += pairs
        self.wait_s += wait_s

    def flush(self, di: DistInfo, lr: float, bad_records: int = 0) -> dict[str, float]:
        """The interval's means over all processes; ``bad_records`` (damaged records met so far) is summed."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        extra = torch.tensor([self.pairs, self.wait_s, elapsed, bad_records], dtype=torch.float64, device=self.device)
        total = all_reduce_sum(torch.cat([self.sums, extra]), di).tolist()
        s = dict(zip(self.KEYS, total[: len(self.KEYS)]))
        pairs, wait_s, elapsed_sum, bad_sum = total[len(self.KEYS):]
        steps = max(s["steps"], 1)
        scalars = {
            "loss": s["loss"] / steps,
            "conf_loss": s["conf_loss"] / steps,
            "reg_loss": s["reg_loss"] / steps,
            "pos_accuracy": s["pos_correct"] / s["pos"] if s["pos"] else float("nan"),
            "neg_accuracy": s["neg_correct"] / s["neg"] if s["neg"] else float("nan"),
            "lr": lr,
            "pairs_per_s": pairs / (elapsed_sum / di.world),
            "data_wait_fraction": wait_s / elapsed_sum,
            "bad_records": bad_sum,
        }
        self.reset()
        return scalars


def open_tensorboard(run_dir: Path, step: int, resume: bool):
    """The run's TensorBoard writer (``RUN/tb``). The points at the checkpoint's step were logged before it
    was saved: a resumed run purges only later ones (what an interrupted run logged after its last
    checkpoint), or the curves lose a point."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(run_dir / "tb"), purge_step=step + 1 if resume else None)


def write_figure(make_figure, path: Path, writer, tag: str, step: int) -> None:
    """Draw a figure and write it to ``path`` (PNG) and to TensorBoard under ``tag``. Any error in
    doing so (a diverged model's boxes, a full disk, a plotting library's bug) is a warning and the
    run goes on: a picture must never end a training run."""
    figure = None
    try:
        figure = make_figure()
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=80)  # the temp name has no suffix
        writer.add_figure(tag, figure, step)
    except Exception as exc:  # noqa: BLE001  (whatever went wrong, the weights are unaffected)
        warn(f"could not write the figure {path} ({type(exc).__name__}: {exc}); training goes on")
    finally:
        if figure is not None:
            import matplotlib.pyplot as plt  # imported by make_figure already, with its backend chosen

            plt.close(figure)


def warn(text: str) -> None:
    """A warning on stderr, shown with --quiet too (plain text: it holds paths)."""
    stderr_console().print(f"warning: {text}", style="yellow", markup=False)
    log.info(text)


def stderr_console():
    """Where the run's messages go; as wide as needed in a log file (rich would wrap at 80 columns)."""
    from rich.console import Console

    return Console(stderr=True, width=console_width(sys.stderr))


class TrainProgress:
    """Progress (steps, rate, ETA, epoch, last loss, pairs/s) on the main process, silent elsewhere: a
    :class:`siamcore.progress.ProgressBar` opened at the first epoch, its total set again at each."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.console = stderr_console()
        self.bar: ProgressBar | None = None
        self.epoch = 0

    def start(self, total: int, step: int, epoch: int) -> None:
        if not self.enabled:
            return
        self.epoch = epoch
        if self.bar is None:
            self.bar = ProgressBar("train", total, "steps", console=self.console, done=step)
        else:
            self.bar.set_total(total)

    def update(self, step: int, scalars: dict | None = None) -> None:
        if self.bar is None:
            return
        if scalars is None:
            self.bar.update(completed=step)
        else:
            self.bar.update(completed=step, rate=f"{scalars['pairs_per_s']:.1f} pairs/s", info=(
                f"epoch {self.epoch}, loss {scalars['loss']:.3f} (conf {scalars['conf_loss']:.3f}, reg "
                f"{scalars['reg_loss']:.3f}) wait {100 * scalars['data_wait_fraction']:.0f}%"))

    def note(self, text: str) -> None:
        """Print a plain line (no markup: it holds run folders and sequence names) above the bar."""
        if self.enabled:
            self.console.print(text, markup=False)
        log.info(text)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def log_start(cfg, model, sources, dataset, run_dir, device, di, step, cache) -> None:
    from rich.markup import escape

    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if sources.val_sequences:
        shown = ", ".join(sources.val_sequences[:5]) + (" ..." if len(sources.val_sequences) > 5 else "")
        validation = (f"validation on {len(sources.val_key)} pairs of {len(sources.val_sequences)} held-out "
                      f"sequence(s) ({escape(shown)})")
    else:
        validation = "[yellow]validation off[/] (data.val_fraction = 0, or a single sequence)"
    lines = [
        f"[bold]{cfg.model.name}[/]: {n_params / 1e6:.2f} M parameters ({n_train / 1e6:.2f} M trained) on {device}"
        f"{f' x {di.world} processes' if di.enabled else ''}; run folder {escape(str(run_dir))}"
        + (f"; resuming at step {step}" if step else ""),
        f"data: {len(sources.catalog)} training samples of {sources.catalog.num_units} targets from "
        f"{sources.num_folders} folder(s); {validation}",
    ]
    if cache is not None:
        lines.append(f"feature cache: {escape(str(cache.path))} ({cache.copies} cop{'y' if cache.copies == 1 else 'ies'}"
                     f" of {len(cache)} records, {'reused; it took' if cache.reused else 'built in'} "
                     f"{cache.build_seconds / 60:.1f} min); training the heads only")
    stderr_console().print("\n".join(lines))
