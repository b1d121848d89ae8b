"""Pair sampling: which frames make each exemplar/search pair, and its random jitter. Pure, no I/O.

Every random number of a sample comes from its own generator, keyed by (seed, sha256 of the
sample key), drawn in a fixed order, so a sample does not depend on which worker builds it, on
the order of work, or on the other samples. No global RNG, no Python ``hash()``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from dataprep.config import REFERENCE_SIZE, AugmentConfig, PairsConfig


def stable_int(text: str, bits: int = 128) -> int:
    """A stable integer of a string id, for seeding generators: the first ``bits`` bits of its sha256."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big") >> (256 - bits)


def sample_rng(seed: int, sample_key: str, *stream: int) -> np.random.Generator:
    """The generator of one sample (``stream``: an extra id for an independent draw sequence)."""
    return np.random.default_rng([seed, stable_int(sample_key), *stream])


def pair_key(sequence_uid: str, pair_index: int) -> str:
    """The stable sample id, also the LMDB key: ``<sequence uid>/<pair index, 3 digits>``."""
    return f"{sequence_uid}/{pair_index:03d}"


def valid_frame_indices(boxes_xywh: np.ndarray) -> np.ndarray:
    """Indices of frames whose box is finite with positive width and height."""
    b = np.asarray(boxes_xywh, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.all(np.isfinite(b), axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0)
    return np.flatnonzero(ok)


@dataclass(frozen=True)
class SequenceFrames:
    """What sampling needs to know about a sequence: ids and its frames with a usable box."""

    uid: str
    video_uid: str
    valid_frames: tuple[int, ...]


@dataclass(frozen=True)
class Jitter:
    """Crop window jitter of one role: centre shift in output px at the role's reference size
    (127 exemplar, 255 search) and window side scale factor. All views of a role share it."""

    shift_ref_px: tuple[float, float]
    scale: float

    def shift_px(self, role: str, size: int) -> tuple[float, float]:
        """The shift for a view of output ``size`` px (scaled by size / reference size)."""
        f = size / REFERENCE_SIZE[role]
        return (self.shift_ref_px[0] * f, self.shift_ref_px[1] * f)


@dataclass(frozen=True)
class PairPlan:
    """One planned sample. Sequences are indices into the shard's sequence list."""

    key: str
    search_seq: int
    search_frame: int
    exemplar_seq: int
    exemplar_frame: int
    negative: bool
    search_jitter: Jitter
    exemplar_jitter: Jitter
    guide_frame: int
    """Frame whose box guides the search crop: ``search_frame - 1`` when it has a box, else the search frame."""
    guide_noise: tuple[float, float, float, float]
    """Standard normal draws for the guide box (cx, cy, log w, log h), scaled by ``guide_sigma`` later."""


def negative_candidates(sequences: list[SequenceFrames], index: int) -> list[int]:
    """Sequences that can lend a negative exemplar to ``sequences[index]``: those of other videos,
    or (when the shard has only this video) its other tracks; never itself."""
    me = sequences[index]
    usable = [j for j, s in enumerate(sequences) if j != index and s.valid_frames]
    other_videos = [j for j in usable if sequences[j].video_uid != me.video_uid]
    return other_videos or usable


def _pick(u: float, items):
    """The item at uniform position ``u`` in [0, 1)."""
    return items[min(int(math.floor(u * len(items))), len(items) - 1)]


def jitter_scale(u: float, scale: float, distribution: str = "uniform") -> float:
    """The window scale factor for a uniform draw ``u`` in [-1, 1]: ``1 + u s`` (uniform) or
    ``(1 + s) ** u`` (log-uniform: as likely to enlarge as to shrink by the same factor)."""
    if distribution == "log-uniform":
        return float((1.0 + scale) ** u)
    return float(1.0 + u * scale)


def _jitter(rng: np.random.Generator, shift_px: float, scale: float, distribution: str) -> Jitter:
    shift = rng.uniform(-1.0, 1.0, 2) * shift_px
    return Jitter((float(shift[0]), float(shift[1])), jitter_scale(float(rng.uniform(-1.0, 1.0)), scale, distribution))


def plan_pairs(
    sequences: list[SequenceFrames], index: int, pairs: PairsConfig, augment: AugmentConfig, seed: int
) -> list[PairPlan]:
    """``pairs.per_sequence`` pairs whose search crop shows ``sequences[index]``.

    Positive pair: exemplar frame uniform among valid frames, search frame uniform among valid
    frames at most ``max_gap`` away (possibly the same frame). Negative pair (probability
    ``p_negative``, when another sequence is available): exemplar from a candidate of
    :func:`negative_candidates`, search frame uniform among the sequence's valid frames.
    """
    seq = sequences[index]
    valid = seq.valid_frames
    if not valid:
        return []
    candidates = negative_candidates(sequences, index)
    valid_set = set(valid)
    plans = []
    for k in range(pairs.per_sequence):
        key = pair_key(seq.uid, k)
        rng = sample_rng(seed, key)
        u_neg, u_ex, u_se, u_nseq, u_nframe = (float(u) for u in rng.random(5))
        search_jitter = _jitter(rng, augment.search_shift_px, augment.search_scale, augment.scale_jitter)
        exemplar_jitter = _jitter(rng, augment.exemplar_shift_px, augment.exemplar_scale, augment.scale_jitter)
        guide_noise = tuple(float(v) for v in rng.standard_normal(4))

        negative = bool(candidates) and u_neg < pairs.p_negative
        if negative:
            ex_seq = _pick(u_nseq, candidates)
            ex_frame = _pick(u_nframe, sequences[ex_seq].valid_frames)
            se_frame = _pick(u_se, valid)
        else:
            ex_seq = index
            ex_frame = _pick(u_ex, valid)
            near = [f for f in valid if abs(f - ex_frame) <= pairs.max_gap]
            se_frame = _pick(u_se, near)
        guide_frame = se_frame - 1 if (se_frame - 1) in valid_set else se_frame
        plans.append(
            PairPlan(
                key=key,
                search_seq=index,
                search_frame=int(se_frame),
                exemplar_seq=int(ex_seq),
                exemplar_frame=int(ex_frame),
                negative=negative,
                search_jitter=search_jitter,
                exemplar_jitter=exemplar_jitter,
                guide_frame=int(guide_frame),
                guide_noise=guide_noise,  # type: ignore[arg-type]
            )
        )
    return plans
