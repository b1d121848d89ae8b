"""``dataprep show BUILD``: look at pairs before training on them (a grid PNG, an HTML gallery).

Each cell shows the exemplar crop | the search crop side by side at the same height (the exemplar
enlarged), with the target box in **blue**, the guide box in **green** and pasted distractors in
**red**, and a caption: dataset, sequence/track, frames, flags. Crops are the primary views of
the build (``build.json`` ``primary_views``). Pairs are drawn from ``manifest/samples.parquet``
(filtered with ``--where``) by a seeded generator, so the same command shows the same pairs.

Layout (:class:`Layout`) is public so tests can find where a box must have been drawn.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from siamcore.atomic import write_bytes_atomic
from siamcore.draw import draw_rect_xyxy
from siamcore.shards import BuildInfo, open_build

from siamcore.manifest import read_table
from dataprep.records import decode_jpeg_rgb

TARGET_RGB = (30, 90, 255)
GUIDE_RGB = (20, 200, 60)
DISTRACTOR_RGB = (255, 30, 30)
BOX_THICKNESS_PX = 2
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.45
LINE_H = 17
CAPTION_LINES = 3
HEADER_H = 30
BACKGROUND_RGB = (245, 245, 245)
TEXT_RGB = (20, 20, 20)

BOOLEAN_TERMS = {
    "negative": ("negative", True),
    "positive": ("negative", False),
    "has_distractor": ("has_distractor", True),
    "no_distractor": ("has_distractor", False),
}
STRING_COLUMNS = ("dataset", "class_name", "sequence", "track", "shard", "key")


class ShowError(ValueError):
    """A request that cannot be shown (unknown filter, nothing matches); the message says what to do."""


@dataclass(frozen=True)
class Layout:
    """Where things are in the grid: cells of ``panel`` px high crops, exemplar | gap | search."""

    cols: int
    panel: int = 255
    gap: int = 6
    pad: int = 8
    caption_h: int = CAPTION_LINES * LINE_H + 6

    @property
    def cell_w(self) -> int:
        return 2 * self.panel + self.gap + 2 * self.pad

    @property
    def cell_h(self) -> int:
        return self.panel + self.caption_h + 2 * self.pad

    def cell_origin(self, index: int) -> tuple[int, int]:
        """Top-left corner of cell ``index`` in the grid image (row-major, below the header)."""
        return (index % self.cols) * self.cell_w, HEADER_H + (index // self.cols) * self.cell_h

    def panel_origin(self, role: str) -> tuple[int, int]:
        """Top-left corner of the exemplar/search panel inside a cell."""
        x = self.pad if role == "exemplar" else self.pad + self.panel + self.gap
        return x, self.pad

    def grid_size(self, n: int) -> tuple[int, int]:
        rows = max(1, math.ceil(n / self.cols))
        return self.cols * self.cell_w, HEADER_H + rows * self.cell_h

    def to_grid_px(self, index: int, role: str, crop_size: int, x: float, y: float) -> tuple[float, float]:
        """A crop-pixel position of cell ``index``'s ``role`` crop -> grid image pixel position."""
        cx, cy = self.cell_origin(index)
        px, py = self.panel_origin(role)
        s = self.panel / crop_size
        return cx + px + x * s, cy + py + y * s


# --- selecting --------------------------------------------------------------------------------------


def matches(row: dict, term: str) -> bool:
    """Whether a manifest row passes one ``--where`` term: ``negative``, ``positive``,
    ``has_distractor``, ``no_distractor``, a record flag (``photometric``, ``distractor_no_room``,
    ...), ``column=value`` for a text column, each optionally negated with a leading ``!``."""
    if term.startswith("!"):
        return not matches(row, term[1:])
    if "=" in term:
        column, value = term.split("=", 1)
        return str(row.get(column.strip())) == value.strip()
    if term in BOOLEAN_TERMS:
        column, wanted = BOOLEAN_TERMS[term]
        return bool(row[column]) == wanted
    return term in (row.get("flags") or "").split(",")


def filter_terms(where: list[str], dataset: str | None) -> list[str]:
    """The ``--where`` terms, with ``--dataset`` as one more."""
    return list(where) + ([f"dataset={dataset}"] if dataset else [])


def check_terms(terms: list[str]) -> None:
    for term in terms:
        bare = term.lstrip("!")
        if "=" in bare and bare.split("=", 1)[0].strip() not in STRING_COLUMNS:
            raise ShowError(f"--where {term!r}: column must be one of {', '.join(STRING_COLUMNS)}")
        if not bare:
            raise ShowError("--where needs a term, e.g. has_distractor, negative, class_name=person")


def select_rows(
    rows: list[dict], n: int, where: list[str] = (), dataset: str | None = None, seed: int = 0
) -> list[dict]:
    """``n`` rows drawn uniformly without replacement from those passing every filter (seeded), in
    (shard, key) order. ShowError when none passes."""
    terms = filter_terms(where, dataset)
    check_terms(terms)
    passing = [r for r in rows if all(matches(r, t) for t in terms)]
    if not passing:
        raise ShowError(f"no pair matches {' and '.join(terms) or 'anything'} ({len(rows)} pairs in the build); "
                        "try fewer --where terms")
    rng = np.random.default_rng([seed, 0x5E0])
    picked = rng.choice(len(passing), size=min(n, len(passing)), replace=False)
    return sorted((passing[i] for i in picked), key=lambda r: (r["shard"], r["key"]))


def load_records(info: BuildInfo, rows: list[dict]) -> list[dict]:
    """The records of ``rows`` (one reader per shard)."""
    by_shard: dict[str, list[str]] = {}
    for r in rows:
        by_shard.setdefault(r["shard"], []).append(r["key"])
    got = {}
    for shard, keys in by_shard.items():
        with info.shard(shard).reader() as reader:
            for key in keys:
                got[key] = reader.get(key)
    return [got[r["key"]] for r in rows]


# --- drawing ----------------------------------------------------------------------------------------


def draw_box(image: np.ndarray, box_xyxy, color, scale: float, thickness: int = BOX_THICKNESS_PX) -> None:
    """Draw ``box_xyxy`` (crop px) scaled by ``scale`` onto ``image`` in place, clipped to it; a box that
    cannot be drawn (NaN, inf, outside) draws nothing (:mod:`siamcore.draw`)."""
    draw_rect_xyxy(image, np.asarray(box_xyxy, dtype=np.float64) * scale, color, thickness, cv2.LINE_8)


def panel_image(crop: dict, panel: int, boxes: list[tuple[list, tuple]]) -> np.ndarray:
    """One crop decoded, resized to ``panel`` px and with ``boxes`` [(xyxy in crop px, colour)] drawn."""
    image = decode_jpeg_rgb(crop["jpeg"])
    if image is None:
        image = np.full((crop["size"], crop["size"], 3), 128, np.uint8)
    scale = panel / crop["size"]
    if image.shape[0] != panel:
        interp = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
        image = cv2.resize(image, (panel, panel), interpolation=interp)
    image = np.ascontiguousarray(image)
    for box, color in boxes:
        if box is not None:
            draw_box(image, box, color, scale)
    return image


def caption_lines(record: dict) -> list[str]:
    """Dataset, sequence/track; frames (and the exemplar's sequence for negatives); flags."""
    line1 = f"{record['dataset']}  {record['sequence']}  track {record['track']}"
    if record["class_name"]:
        line1 += f"  ({record['class_name']})"
    if record["negative"]:
        line2 = (f"NEGATIVE: exemplar {record['exemplar_sequence']}/{record['exemplar_track']} "
                 f"f{record['exemplar_frame']} | search f{record['search_frame']}")
    else:
        line2 = f"frames: exemplar {record['exemplar_frame']} | search {record['search_frame']}"
    flags = []
    if record["distractors"]:
        cats = sorted({d["category"] for d in record["distractors"]})
        flags.append(f"distractor x{len(record['distractors'])} ({', '.join(cats)})")
    flags += [f for f in record["flags"]]
    return [line1, line2, "flags: " + (", ".join(flags) if flags else "-")]


def _fit(text: str, width_px: int) -> str:
    while text and cv2.getTextSize(text, FONT, FONT_SCALE, 1)[0][0] > width_px:
        text = text[:-2] + "~"
    return text


def render_cell(record: dict, layout: Layout, exemplar_view: str, search_view: str) -> np.ndarray:
    """The cell image of one record: exemplar | search with boxes, caption below."""
    cell = np.full((layout.cell_h, layout.cell_w, 3), BACKGROUND_RGB, np.uint8)
    ex, se = record["crops"][exemplar_view], record["crops"][search_view]
    # drawing order: guide, distractors, then the target on top
    ex_img = panel_image(ex, layout.panel, [(ex["guide_xyxy"], GUIDE_RGB), (ex["box_xyxy"], TARGET_RGB)])
    se_boxes = [(se["guide_xyxy"], GUIDE_RGB)] + [(d["box_xyxy"], DISTRACTOR_RGB) for d in record["distractors"]]
    se_img = panel_image(se, layout.panel, se_boxes + [(se["box_xyxy"], TARGET_RGB)])
    for role, img in (("exemplar", ex_img), ("search", se_img)):
        x, y = layout.panel_origin(role)
        cell[y : y + layout.panel, x : x + layout.panel] = img
    y = layout.pad + layout.panel + LINE_H
    for line in caption_lines(record):
        cv2.putText(cell, _fit(line, layout.cell_w - 2 * layout.pad), (layout.pad, y), FONT, FONT_SCALE, TEXT_RGB,
                    1, cv2.LINE_AA)
        y += LINE_H
    return cell


def render_grid(cells: list[np.ndarray], layout: Layout, title: str) -> np.ndarray:
    w, h = layout.grid_size(len(cells))
    grid = np.full((h, w, 3), 255, np.uint8)
    x = 8
    for text, color in ((title + "   ", TEXT_RGB), ("target", TARGET_RGB), ("   guide", GUIDE_RGB),
                        ("   distractor", DISTRACTOR_RGB)):
        cv2.putText(grid, text, (x, 21), FONT, 0.55, color, 1 if color == TEXT_RGB else 2, cv2.LINE_AA)
        x += cv2.getTextSize(text, FONT, 0.55, 2)[0][0]
    for i, cell in enumerate(cells):
        cx, cy = layout.cell_origin(i)
        grid[cy : cy + layout.cell_h, cx : cx + layout.cell_w] = cell
        draw_rect_xyxy(grid, (cx, cy, cx + layout.cell_w, cy + layout.cell_h), (200, 200, 200), 1)
    return grid


def png_bytes(image_rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


# --- the command ------------------------------------------------------------------------------------


@dataclass
class ShowResult:
    png: Path
    records: list[dict]
    layout: Layout
    html: Path | None = None


def show(
    out_dir: str | Path,
    png_path: str | Path,
    n: int = 16,
    where: list[str] = (),
    dataset: str | None = None,
    seed: int = 0,
    html_dir: str | Path | None = None,
    cols: int | None = None,
) -> ShowResult:
    """Write the grid PNG of ``n`` selected pairs of the build in ``out_dir`` (and the gallery).
    FileNotFoundError / SchemaError for an unfinished or foreign build, ShowError for a bad request."""
    if n < 1:
        raise ShowError("--n must be >= 1")
    info = open_build(out_dir)
    rows = read_table(info.samples_path).to_pylist()
    picked = select_rows(rows, n, where, dataset, seed)
    records = load_records(info, picked)
    primary = info.build.get("primary_views", {"exemplar": "exemplar", "search": "search"})
    layout = Layout(cols=cols or min(4, len(records)))
    cells = [render_cell(r, layout, primary["exemplar"], primary["search"]) for r in records]
    title = f"{Path(out_dir).name}: {len(records)} of {len(rows)} pairs"
    if terms := filter_terms(where, dataset):
        title += f" where {' and '.join(terms)}"
    write_bytes_atomic(png_path, png_bytes(render_grid(cells, layout, title)))
    result = ShowResult(Path(png_path), records, layout)
    if html_dir is not None:
        result.html = write_gallery(Path(html_dir), records, cells, title)
    return result


def write_gallery(folder: Path, records: list[dict], cells: list[np.ndarray], title: str) -> Path:
    """``folder/index.html`` + ``folder/pairs/NNN.png``: a static page, one figure per pair."""
    figures = []
    for i, (record, cell) in enumerate(zip(records, cells)):
        name = f"pairs/{i:03d}.png"
        write_bytes_atomic(folder / name, png_bytes(cell))
        caption = "<br>".join(html.escape(line) for line in caption_lines(record))
        figures.append(f'<figure><img src="{name}" alt="{html.escape(record["key"])}" width="{cell.shape[1]}">'
                       f"<figcaption><code>{html.escape(record['key'])}</code><br>{caption}</figcaption></figure>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; background: #fafafa; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; background: #fff; padding: 0.3em;
          border: 1px solid #ddd; }}
figcaption {{ font-size: 0.85em; max-width: 520px; }}
.k {{ font-weight: bold; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Each pair: exemplar | search. <span class="k" style="color:rgb{TARGET_RGB}">target</span>,
<span class="k" style="color:rgb{GUIDE_RGB}">guide</span>,
<span class="k" style="color:rgb{DISTRACTOR_RGB}">distractor</span>.</p>
{chr(10).join(figures)}
</body></html>
"""
    index = folder / "index.html"
    write_bytes_atomic(index, page.encode("utf-8"))
    return index
