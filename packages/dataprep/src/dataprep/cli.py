"""``dataprep``: turn the registered datasets (:mod:`dataprep.sources.registry`: TrackingNet, ILSVRC VID,
COCO, the sequence-folder datasets, ...) into LMDB shards of exemplar/search pairs.

Commands: ``build`` (-> :mod:`dataprep.build`), ``verify`` (-> :mod:`dataprep.verify`),
``info`` (-> :mod:`dataprep.report`), ``show`` (-> :mod:`dataprep.show`), ``stats`` (-> :mod:`dataprep.stats`).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

from siamcore.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_STRICT_SKIPS, EXIT_USAGE, fail
from siamcore.progress import console_width

from dataprep.sources import SOURCES


app = typer.Typer(
    help=(
        "Build deterministic, resumable LMDB shards of exemplar/search training pairs from TrackingNet, "
        "ILSVRC2015 VID, COCO (synthetic pairs with same-class distractors) or the sequence-folder datasets "
        "OTB, VOT, DAVIS and TLP, locally or on a Dask cluster.\n\n"
        "Example: dataprep build --dataset trackingnet --chunks 0-5 (root from $SIAMTRACK_TRACKINGNET_ROOT), "
        "then dataprep verify shards/trackingnet and dataprep info shards/trackingnet."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


Dataset = Enum("Dataset", {name: name for name in SOURCES}, type=str)
"""The ``--dataset`` choices: the dataset registry's names."""


def _dataset_help() -> str:
    """``--dataset``'s help: each registered dataset with its layout in a few words."""
    listed = "; ".join(f"{spec.name} ({spec.help})" for spec in SOURCES.values())
    return f"Dataset to read: {listed}. Required unless the --config file names it."


def _console() -> Console:
    return Console(stderr=True, width=console_width(sys.stderr))


def _fail(exc: Exception, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``exc`` as the error (it says what to do) and exit with ``code``."""
    fail(_console(), exc, code)


def _joined(names: Optional[list[str]]) -> Optional[str]:
    """Repeated ``--sequences`` values as one comma-separated list (the config's own form)."""
    return ",".join(names) if names else None


@app.command()
def build(
    dataset: Optional[Dataset] = typer.Option(
        None, "--dataset", "-d", metavar="NAME",
        help=_dataset_help(),
        show_default=False,
    ),
    root: Optional[Path] = typer.Option(
        None, help="Dataset root. Default: config 'root', else $SIAMTRACK_<NAME>_ROOT (NAME: the dataset's name in "
        "capitals, e.g. SIAMTRACK_TRACKINGNET_ROOT), else " + ", ".join(f"./{s.root_default}" for s in SOURCES.values())
        + " respectively. OTB/VOT/TLP: one sequence folder or a folder of them.",
        show_default=False,
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Output folder. Default: config 'out', else <dataset> under $SIAMTRACK_DATA_OUT, "
        "else under ./shards. Re-running into it resumes (finished shards whose checksum verifies are kept).",
        show_default=False,
    ),
    chunks: Optional[str] = typer.Option(
        None, help="TrackingNet chunks, e.g. '0-5' or '0,2,4-5' (TRAIN_k folders). Default: all present.",
        show_default=False,
    ),
    sequences: Optional[list[str]] = typer.Option(
        None, "--sequences", help="OTB/VOT/DAVIS/TLP: build only these sequences (repeat or comma-separate), e.g. "
        "'Couple,Jogging.1' (case-insensitive; a folder name selects all its targets). An unknown name is an "
        "error. Default: all.", show_default=False,
    ),
    exclude_sequences: Optional[list[str]] = typer.Option(
        None, "--exclude-sequences", help="OTB/VOT/DAVIS/TLP: leave these sequences out (repeat or comma-separate), "
        "e.g. the ones you evaluate on: 'Couple,Crossing'. An unknown name is an error.", show_default=False,
    ),
    workers: Optional[int] = typer.Option(
        None, help="Worker processes of the local Dask cluster (1 thread each). Default: config, else 2.",
        show_default=False,
    ),
    scheduler: Optional[str] = typer.Option(
        None, help="'local' (a LocalCluster on 127.0.0.1, the default), 'synchronous' (in this process, for "
        "debugging) or tcp://HOST:PORT of a cluster started with `dask scheduler` / `dask worker` "
        "(data and --out on a shared filesystem).", show_default=False,
    ),
    dashboard: Optional[bool] = typer.Option(
        None, "--dashboard/--no-dashboard", help="Serve Dask's dashboard (live task stream, worker memory, "
        "profiles) for the local cluster and print its address. Default: config, else off (it costs ~0.7 CPU-s "
        "to start and the workers' profiler runs during every task).", show_default=False,
    ),
    pairs_per_sequence: Optional[int] = typer.Option(
        None, "--pairs-per-sequence", "-k", help="Pairs sampled per sequence. Default: config, else 8.",
        show_default=False,
    ),
    seed: Optional[int] = typer.Option(None, help="Seed of all sampling and jitter. Default: config, else 0.",
                                       show_default=False),
    split: Optional[str] = typer.Option(
        None, help="VID: train or val (default: config, else train). COCO: the annotations file "
        "instances_<split>.json in ROOT/annotations, images in ROOT/<split> (default: config, else train2017). "
        "GOT-10k: train, val or test; LaSOT: train or test, the lists ROOT/training_set.txt / "
        "ROOT/testing_set.txt, else the official ones shipped with siamtrack (default: train).",
        show_default=False,
    ),
    distractors: Optional[str] = typer.Option(
        None, "--distractors", help="Paste same-class distractors cut from a COCO-format folder into search crops: "
        "coco:ROOT (its split: config 'distractors.split', else train2017 or the folder's only split), or none. "
        "COCO builds use their own images by default; other datasets paste none unless given.", show_default=False,
    ),
    p_distractor: Optional[float] = typer.Option(
        None, "--p-distractor", help="Probability that a pair gets a distractor. Default: config, else 1.0 for COCO, "
        "0.5 for video datasets.", show_default=False,
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", help="TOML config (see the files in pipelines/dataprep); flags override it. "
        "Unknown keys are an error.", show_default=False,
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a build made with a different config in --out."),
    strict: bool = typer.Option(False, "--strict",
                                help=f"Exit with code {EXIT_STRICT_SKIPS} when any input was skipped."),
    progress: bool = typer.Option(True, help="Show the progress bar."),
) -> None:
    """Build (or resume) the pair shards of one dataset.

    Writes OUT/shards/*.lmdb, OUT/manifest/{samples,skipped}.parquet and, last, OUT/build.json.
    Bad inputs are skipped and listed with their reason (exit 0; --strict makes them an error).
    """
    from dataprep.build import BuildError, ShardsFailed, run_build
    from dataprep.config import ConfigError, load_config, with_overrides
    from dataprep.report import build_summary_table

    console = _console()
    try:
        cfg = load_config(config, dataset.value if dataset else None)
        cfg = with_overrides(
            cfg, root=root, out=out, chunks=chunks, workers=workers, scheduler=scheduler, dashboard=dashboard,
            pairs_per_sequence=pairs_per_sequence, seed=seed, split=split, distractors=distractors,
            p_distractor=p_distractor, sequences=_joined(sequences), exclude_sequences=_joined(exclude_sequences),
        )
        result = run_build(cfg, overwrite=overwrite, console=console, show_progress=progress)
    except ShardsFailed as exc:
        _fail(exc, EXIT_FAILED)
    except (ConfigError, BuildError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        console.print("[bold red]interrupted:[/] finished shards are kept; run the same command again to resume")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    console.print(build_summary_table(result.build))
    console.print(f"wrote {result.out_dir} (check it with: dataprep verify {result.out_dir})", markup=False)
    if result.num_skipped:
        console.print(f"{result.num_skipped} input(s) skipped (build went on without them): list them with "
                      f"dataprep info {result.out_dir}", markup=False)
        if strict:
            console.print(f"[bold red]--strict:[/] {result.num_skipped} input(s) were skipped")
            raise typer.Exit(EXIT_STRICT_SKIPS)


@app.command()
def verify(
    out: Path = typer.Argument(..., metavar="BUILD", help="A build folder (holds build.json)."),
    progress: bool = typer.Option(True, help="Show the progress bar."),
) -> None:
    """Re-read every record of every shard: checksums vs build.json, schema, keys vs manifest, every crop
    decoded. Exit 1 when anything is wrong (also when BUILD holds no build)."""
    from dataprep.verify import verify_build

    console = _console()
    report = verify_build(out, console=console, show_progress=progress)
    console.print(f"checked {report.shards} shard(s), {report.records:,} record(s), {report.crops:,} crop(s)")
    if report.problems:
        for p in report.problems[:30]:
            console.print(f"[red]problem:[/] {escape(p)}")
        if len(report.problems) > 30:
            console.print(f"... and {len(report.problems) - 30} more")
        console.print(f"[bold red]{len(report.problems)} problem(s)[/]: rebuild with `dataprep build` into the same "
                      "folder (damaged shards are rebuilt) or from scratch with --overwrite")
        raise typer.Exit(EXIT_FAILED)
    console.print("[bold green]OK[/]")


@app.command()
def info(out: Path = typer.Argument(..., metavar="BUILD", help="A build folder (holds build.json).")) -> None:
    """Print a summary of a finished build: config, views, pairs by class/chunk, skipped inputs."""
    from siamcore.schema import SchemaError
    from siamcore.shards import open_build

    from dataprep.report import info_tables

    console = Console(width=console_width(sys.stdout))
    try:
        build_info = open_build(out)
    except (FileNotFoundError, SchemaError) as exc:
        _fail(exc)
    for table in info_tables(build_info):
        console.print(table)


@app.command()
def show(
    out: Path = typer.Argument(..., metavar="BUILD", help="A build folder (holds build.json)."),
    png: Path = typer.Option(Path("pairs.png"), "--out", "-o", help="The grid PNG to write."),
    n: int = typer.Option(16, "--n", help="Number of pairs to show."),
    dataset: Optional[str] = typer.Option(None, help="Only pairs of this dataset.", show_default=False),
    where: Optional[list[str]] = typer.Option(
        None, "--where", help="Filter, repeatable (all must hold): negative, positive, has_distractor, "
        "no_distractor, a record flag (photometric, distractor_no_room, ...), or column=value for dataset, "
        "class_name, sequence, track, shard, key; prefix ! to negate.", show_default=False,
    ),
    seed: int = typer.Option(0, help="Seed of the choice of pairs (same seed, same pairs)."),
    cols: Optional[int] = typer.Option(None, help="Cells per row. Default: up to 4.", show_default=False),
    html_dir: Optional[Path] = typer.Option(
        None, "--html", help="Also write a static gallery: DIR/index.html and one PNG per pair.", show_default=False,
    ),
) -> None:
    """Draw pairs as a grid PNG: each cell exemplar | search, target box blue, guide green, distractors
    red, with a caption (dataset, sequence, frames, flags)."""
    from siamcore.schema import SchemaError

    from dataprep.show import ShowError, show as show_pairs

    console = _console()
    try:
        result = show_pairs(out, png, n=n, where=where or [], dataset=dataset, seed=seed, html_dir=html_dir, cols=cols)
    except (FileNotFoundError, SchemaError, ShowError) as exc:
        _fail(exc)
    console.print(f"wrote {result.png.absolute()} ({len(result.records)} pairs)", markup=False)
    if result.html is not None:
        console.print(f"wrote {result.html.absolute()}", markup=False)


@app.command()
def stats(
    out: Path = typer.Argument(..., metavar="BUILD", help="A build folder (holds build.json)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also write histograms as a PNG (matplotlib).",
                                        show_default=False),
    top: int = typer.Option(20, help="Classes listed."),
) -> None:
    """Counts per dataset and class, negative and distractor rates, record flags, target size and
    aspect histograms, bytes per record (from the manifest)."""
    from siamcore.schema import SchemaError

    from dataprep.stats import build_stats, plot_stats, stats_tables

    try:
        numbers, title = build_stats(out)
    except (FileNotFoundError, SchemaError) as exc:
        _fail(exc)
    console = Console(width=console_width(sys.stdout))
    for table in stats_tables(numbers, title, top):
        console.print(table)
    if plot is not None:
        plot_stats(numbers, plot, title, top)
        _console().print(f"wrote {plot.absolute()}", markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
