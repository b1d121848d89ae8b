"""Which samples an epoch reads, in which order, on which rank and worker: pure functions, no I/O.

The reader chain (webdataset-style, made explicit):

1. **select** (:func:`select_epoch_rows`): per shard folder, ``weight x sequences`` pairs, one per
   sequence in a fresh random order (the seed's epoch: one pair per sequence), or a set number of
   samples split by the mixture weights; each picked sequence contributes one random record. An
   epoch smaller than one batch per rank cycles its sequences up to that size.
2. **blocks** (:func:`read_blocks`): the picked rows sorted in shard/key order (LMDB cursor order)
   and cut into blocks of ``block_size`` rows of one shard; blocks are shuffled, so reads stay
   sequential within a block while shards and datasets interleave.
3. **split by rank** (:func:`rank_rows`): rank ``r`` takes blocks ``r, r + world, ...``, truncated
   to the same number of whole batches on every rank (DDP needs equal step counts): no overlap.
4. **shuffle buffer** (:func:`shuffle_buffer_order`): the rank's rows are emitted through a buffer
   of ``buffer`` rows, which mixes neighbouring blocks while reading stays nearly sequential.
5. **exemplar re-pairing** (:func:`pick_exemplars`): each emitted row gives a search crop of its
   sequence; its exemplar is the record's own, or (with set probabilities) the exemplar of another
   record of the same sequence (another frame pair: a new positive) or of another sequence (a new
   negative). On small datasets this multiplies the distinct pairs; with probabilities 0 the stored
   pairs are used as they are.
6. **batches and workers**: batch ``j`` holds emitted rows ``[j*B, (j+1)*B)``; DataLoader worker
   ``w`` of ``W`` builds batches ``start + w, start + w + W, ...``, which the DataLoader returns in
   order ``start, start + 1, ...``. The sequence of batches therefore does not depend on the number
   of workers, and resuming after ``start`` batches is exact.

All randomness comes from ``numpy.random.default_rng([seed, epoch, ...])``; every function is a pure
function of its arguments.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

_SELECT, _BLOCKS, _BUFFER, _PAIRING = 0x5E1EC7, 0xB10C5, 0xB0FFE2, 0x9A1E


@dataclass(frozen=True)
class Catalog:
    """Training candidates from the manifests, one row per sample, sorted by (shard, key).

    ``shard`` indexes a global list of shard files (all folders); ``unit`` is the sequence a row
    belongs to (the epoch samples one row per unit); ``unit_start``/``unit_count`` give each unit's
    rows, which are contiguous after :func:`make_catalog` sorted them by unit; ``order`` maps
    those unit-sorted positions back to catalog rows. ``unit_folder`` says which folder a unit is in.
    ``negative`` marks records whose stored exemplar shows another sequence; ``positive_order`` /
    ``positive_start`` / ``positive_count`` list each unit's other rows, the positive ones (their
    exemplar shows the unit's own target), for re-pairing.
    """

    folder: np.ndarray  # [R] int
    shard: np.ndarray  # [R] int, global shard index
    key: np.ndarray  # [R] object (str)
    unit: np.ndarray  # [R] int
    order: np.ndarray  # [R] rows sorted by unit
    unit_start: np.ndarray  # [U]
    unit_count: np.ndarray  # [U]
    unit_folder: np.ndarray  # [U]
    negative: np.ndarray  # [R] bool
    positive_order: np.ndarray  # [P] positive rows sorted by unit
    positive_start: np.ndarray  # [U]
    positive_count: np.ndarray  # [U]

    def __len__(self) -> int:
        return len(self.key)

    @property
    def num_units(self) -> int:
        return len(self.unit_start)


def make_catalog(folder, shard, key, unit, negative=None) -> Catalog:
    """Build a catalog from parallel arrays (any order); rows are sorted into (shard, key) order.
    ``negative`` (default: all False) marks records whose stored pair is a negative one."""
    folder, shard, unit = (np.asarray(a, dtype=np.int64) for a in (folder, shard, unit))
    key = np.asarray(key, dtype=object)
    negative = np.zeros(len(key), dtype=bool) if negative is None else np.asarray(negative, dtype=bool)
    if not (len(folder) == len(shard) == len(key) == len(unit) == len(negative)):
        raise ValueError("catalog arrays must have the same length")
    read_order = np.lexsort((key.astype(str), shard)) if len(key) else np.zeros(0, dtype=np.int64)
    folder, shard, key, unit = folder[read_order], shard[read_order], key[read_order], unit[read_order]
    negative = negative[read_order]
    # Renumber units densely 0..U-1 and group rows by unit (stable: rows stay in read order).
    _, unit = np.unique(unit, return_inverse=True)
    order = np.argsort(unit, kind="stable")
    counts, starts = _runs(unit, int(unit.max()) + 1 if len(unit) else 0)
    unit_folder = folder[order[starts]] if len(counts) else counts
    positive_order = order[~negative[order]]
    positive_count, positive_start = _runs(unit[positive_order], len(counts))
    return Catalog(folder, shard, key, unit, order, starts, counts, unit_folder, negative, positive_order,
                   positive_start, positive_count)


def _runs(sorted_unit: np.ndarray, num_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Count and start of each unit's run in a unit-sorted array (units without rows: count 0)."""
    counts = np.bincount(sorted_unit, minlength=num_units).astype(np.int64) if num_units else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if num_units else counts
    return counts, starts


def folder_sample_counts(units_per_folder, weights, samples_per_epoch: int) -> np.ndarray:
    """Pairs per folder in one epoch (see :func:`select_epoch_rows`)."""
    units = np.asarray(units_per_folder, dtype=np.float64)
    w = np.ones(len(units)) if weights is None or len(weights) == 0 else np.asarray(weights, dtype=np.float64)
    w = np.where(units > 0, w, 0.0)
    if samples_per_epoch <= 0:
        return np.round(w * units).astype(np.int64)
    if w.sum() <= 0:
        return np.zeros(len(units), dtype=np.int64)
    share = samples_per_epoch * w / w.sum()
    counts = np.floor(share).astype(np.int64)
    rest = samples_per_epoch - counts.sum()  # largest remainders get the leftover samples
    counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    return counts


def select_epoch_rows(
    catalog: Catalog, num_folders: int, weights, samples_per_epoch: int, seed: int, epoch: int,
    min_samples: int = 0,
) -> np.ndarray:
    """Catalog rows of one epoch, in read (shard, key) order; a row may repeat when units are reused.

    Folder ``f`` gets ``n_f`` pairs: ``round(weight_f * units_f)`` when ``samples_per_epoch`` is 0
    (weight 1 = one pair per sequence), else its weight's share of ``samples_per_epoch``. An epoch
    of fewer than ``min_samples`` pairs (a set with fewer sequences than one batch) is enlarged to
    ``min_samples`` in the same folder proportions, so that it cycles its sequences instead of
    training on nothing. Each folder's units are visited in random permutations (each unit once
    before any twice), and each visit picks one of the unit's rows uniformly.
    """
    units_per_folder = np.bincount(catalog.unit_folder, minlength=num_folders)
    counts = folder_sample_counts(units_per_folder, weights, samples_per_epoch)
    if 0 < counts.sum() < min_samples:
        counts = folder_sample_counts(np.ones(num_folders), counts, min_samples)
    picked = []
    for f in range(num_folders):
        n = int(counts[f])
        if n == 0:
            continue
        rng = np.random.default_rng([seed, epoch, _SELECT, f])
        folder_units = np.flatnonzero(catalog.unit_folder == f)
        reps = -(-n // len(folder_units))
        visits = np.concatenate([rng.permutation(folder_units) for _ in range(reps)])[:n]
        offsets = np.floor(rng.random(n) * catalog.unit_count[visits]).astype(np.int64)
        picked.append(catalog.order[catalog.unit_start[visits] + offsets])
    if not picked:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(picked), kind="stable")


def read_blocks(rows: np.ndarray, shard: np.ndarray, block_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Cut read-ordered ``rows`` into blocks of one shard (at most ``block_size``) and shuffle them."""
    if len(rows) == 0:
        return []
    shards = shard[rows]
    change = np.flatnonzero(np.diff(shards)) + 1
    blocks = []
    for run in np.split(rows, change):
        blocks.extend(np.split(run, np.arange(block_size, len(run), block_size)))
    perm = np.random.default_rng([seed, epoch, _BLOCKS]).permutation(len(blocks))
    return [blocks[i] for i in perm]


def rank_rows(blocks: list[np.ndarray], rank: int, world: int, batch_size: int) -> np.ndarray:
    """Rank ``rank``'s rows: blocks ``rank::world``, cut to the whole batches every rank can fill.

    When whole blocks cannot give every rank one batch (a small epoch: fewer blocks than ranks, or
    uneven ones), the rows are dealt out one at a time instead: reads are no longer sequential, but
    such an epoch is small, and every rank still gets the same number of batches."""
    per_rank = [sum(len(b) for b in blocks[r::world]) for r in range(world)]
    usable = min(per_rank) // batch_size * batch_size if per_rank else 0
    if usable == 0 and blocks:
        rows = np.concatenate(blocks)
        return rows[rank::world][: len(rows) // world // batch_size * batch_size]
    mine = blocks[rank::world]
    rows = np.concatenate(mine) if mine else np.zeros(0, dtype=np.int64)
    return rows[:usable]


def shuffle_buffer_order(n: int, buffer: int, rng: np.random.Generator) -> np.ndarray:
    """Emission order of ``n`` items read in order through a shuffle buffer of ``buffer`` slots.

    ``out[t]`` is the read index emitted at step ``t``; it is always ``< t + buffer``, so emission
    ``t`` only needs reads up to ``t + buffer``: a reader keeps at most ``buffer`` items waiting.
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    buffer = max(1, min(buffer, n))
    slots = list(range(buffer))
    picks = rng.integers(0, buffer, size=n - buffer)
    out = np.empty(n, dtype=np.int64)
    for i, j in enumerate(picks):
        out[i] = slots[j]
        slots[j] = buffer + i
    out[n - buffer :] = rng.permutation(np.asarray(slots, dtype=np.int64))
    return out


def pick_exemplars(
    catalog: Catalog, rows: np.ndarray, same_sequence_p: float, other_sequence_p: float, seed: int, epoch: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exemplar rows and negative flags for the search ``rows`` of one epoch (in epoch order).

    Per row, one uniform draw ``u``: ``u < other_sequence_p``: the exemplar of a random positive
    record of another sequence (a negative pair); ``u < other + same``: the exemplar of a random
    positive record of the row's own sequence (a positive pair, usually other frames); otherwise the
    record's own exemplar and negative flag. A choice without a candidate keeps the record's own.
    """
    rows = np.asarray(rows, dtype=np.int64)
    exemplar, negative = rows.copy(), catalog.negative[rows].copy()
    if len(rows) == 0 or (same_sequence_p <= 0 and other_sequence_p <= 0):
        return exemplar, negative
    rng = np.random.default_rng([seed, epoch, _PAIRING])
    u, pick_unit, pick_row = rng.random(len(rows)), rng.random(len(rows)), rng.random(len(rows))
    units = catalog.unit[rows]
    has_positive = np.flatnonzero(catalog.positive_count > 0)  # units that can lend an exemplar

    def positive_row_of(unit: np.ndarray, draw: np.ndarray) -> np.ndarray:
        offset = np.floor(draw * catalog.positive_count[unit]).astype(np.int64)
        return catalog.positive_order[catalog.positive_start[unit] + offset]

    same = (u >= other_sequence_p) & (u < other_sequence_p + same_sequence_p) & (catalog.positive_count[units] > 0)
    exemplar[same] = positive_row_of(units[same], pick_row[same])
    negative[same] = False
    own_lends = catalog.positive_count[units] > 0  # then the unit itself is in ``has_positive``
    others = len(has_positive) - own_lends.astype(np.int64)
    other = (u < other_sequence_p) & (others > 0)
    if other.any():
        # Uniform among the lending units other than the row's own: draw an index among ``others``
        # and step over the row's own unit.
        idx = np.floor(pick_unit[other] * others[other]).astype(np.int64)
        own_idx = np.searchsorted(has_positive, units[other])
        idx += own_lends[other] & (idx >= own_idx)
        exemplar[other] = positive_row_of(has_positive[idx], pick_row[other])
        negative[other] = True
    return exemplar, negative


@dataclass(frozen=True)
class EpochPlan:
    """One rank's epoch: ``rows[j*B:(j+1)*B]`` is batch ``j`` (the records giving the search crops),
    ``exemplar_rows`` the records giving their exemplars and ``negative`` whether the pair is a
    negative one; ``positions`` are the rows' indices in the epoch-wide read list (rank-independent
    ids that key the augmentation generators)."""

    epoch: int
    rows: np.ndarray
    positions: np.ndarray
    batch_size: int
    exemplar_rows: np.ndarray
    negative: np.ndarray

    @property
    def num_batches(self) -> int:
        return len(self.rows) // self.batch_size

    def batch(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, exemplar_rows, negative, positions)`` of batch ``j``."""
        s = slice(j * self.batch_size, (j + 1) * self.batch_size)
        return self.rows[s], self.exemplar_rows[s], self.negative[s], self.positions[s]

    def worker_batches(self, start: int, worker: int, num_workers: int) -> range:
        """Batches that DataLoader worker ``worker`` builds when the epoch resumes at ``start``."""
        return range(start + worker, self.num_batches, num_workers)


def plan_epoch(
    catalog: Catalog,
    num_folders: int,
    weights,
    samples_per_epoch: int,
    seed: int,
    epoch: int,
    rank: int,
    world: int,
    batch_size: int,
    block_size: int = 64,
    buffer: int = 1024,
    same_sequence_p: float = 0.0,
    other_sequence_p: float = 0.0,
) -> EpochPlan:
    """The whole chain of the module docstring for one rank; an epoch has at least one batch per rank."""
    rows = select_epoch_rows(catalog, num_folders, weights, samples_per_epoch, seed, epoch, world * batch_size)
    blocks = read_blocks(rows, catalog.shard, block_size, seed, epoch)
    # Positions: index of each entry in the concatenated (shuffled) block list, identical on all ranks.
    sizes = np.array([len(b) for b in blocks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else sizes
    pos_blocks = [np.arange(s, s + n) for s, n in zip(starts, sizes)]
    mine = rank_rows(blocks, rank, world, batch_size)
    mine_pos = rank_rows(pos_blocks, rank, world, batch_size)
    order = shuffle_buffer_order(len(mine), buffer, np.random.default_rng([seed, epoch, _BUFFER, rank]))
    mine, mine_pos = mine[order], mine_pos[order]
    # Exemplars are chosen for the whole epoch in position order, so every rank agrees.
    all_rows = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int64)
    exemplar, negative = pick_exemplars(catalog, all_rows, same_sequence_p, other_sequence_p, seed, epoch)
    return EpochPlan(epoch, mine, mine_pos, batch_size, exemplar[mine_pos], negative[mine_pos])


def stable_fraction(text: str) -> float:
    """A number in [0, 1) fixed by ``text`` (sha256), for splits that never change between runs."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2.0**64
