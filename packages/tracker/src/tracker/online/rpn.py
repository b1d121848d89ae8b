"""Online tracker of the RPN family: SiamRPN, SiamConcatRPN, SiamBroadcastRPN.

Per frame: one search crop around the previous position with the model's search view (or, with
``scale_count > 1``, one per scale of SiamFC's scale search); every default box decoded
(:func:`siamcore.encoding.decode`); the post-processing of NETWORKS.md (:mod:`tracker.online.postprocess`):
change penalty, Hann window per source map with its influence, best candidate. With several scales, the
scale whose best candidate has the highest ``logit + log(penalty)`` (side scales less ``scale_margin``)
wins and the size first follows it as SiamFC's does (``1 - scale_lr + scale_lr * step^i``); then the size
is smoothed towards the regressed one with ``penalty * confidence * lr``, clamped to the frame, to
``[init / 3, 3 init]`` and a minimum size. Scales compete in logits: where a target is followed the logits
are 3-12, the sigmoid reads 0.96-1.00 at every scale, and any margin on probabilities would decide alone.
For models that need a guide (SiamConcatRPN) the exemplar guide is the initial box and the search guide the
previous prediction, both as binary masks in crop coordinates (:func:`tracker.models.box_mask`).
"""

from __future__ import annotations

import numpy as np
import torch
from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import frame_mean, frame_to_crop_xyxy, window_for_box_xywh
from siamcore.encoding import decode

from ..models import box_mask
from .base import CropBatch, OnlineTracker, check_frame
from .params import RPNParams
from .postprocess import change_penalty, clamp_state, search_scale_factors, smooth_size, source_windows


class RPNTracker(OnlineTracker):
    def __init__(self, model: torch.nn.Module, params: RPNParams | None = None, channels_last: bool = True):
        super().__init__(model, channels_last)
        self.params = params or RPNParams()
        self.default_boxes_cxcywh = model.default_boxes_cxcywh.detach().cpu().numpy().astype(np.float64)
        self.variances = tuple(model.variances)
        self.window = source_windows(self.default_boxes_cxcywh)
        self.needs_guide = bool(getattr(model, "needs_guide", False))
        self._search = CropBatch(1, self.search_view.size, self.device, channels_last)
        n = self.params.scale_count
        self.scale_factors = search_scale_factors(n, self.params.scale_step)
        self.scale_margins = np.where(np.arange(n) == n // 2, 0.0, self.params.scale_margin)

    def _guide(self, box_xywh, window_xyxy, size: int) -> torch.Tensor | None:
        if not self.needs_guide:
            return None
        box_crop = frame_to_crop_xyxy(xywh_to_xyxy(np.asarray(box_xywh, dtype=np.float64)), window_xyxy, size)
        return box_mask(torch.as_tensor(box_crop[None], dtype=torch.float32, device=self.device), size)

    def _compute_template(self, box_xywh, window_xyxy):
        guide = self._guide(box_xywh, window_xyxy, self.exemplar_view.size)
        return self.model.template(self._exemplar.ready(), guide)

    def _detect_at(self, frame: np.ndarray, prev, scale_factor: float, fill):
        """Score one search crop, ``scale_factor`` x the search window around ``prev``: the candidates'
        logits, confidences and decoded boxes (crop px), the crop's window and its crop px per frame px."""
        window = window_for_box_xywh(prev, self.search_view, scale=scale_factor)
        size = self.search_view.size
        self._search.fill(0, frame, window, fill)
        guide = self._guide(prev, window, size)
        conf_logits, loc_deltas = self.model.detect(self._template, self._search.ready(), guide)
        logits = conf_logits[0].float()
        conf = torch.sigmoid(logits).cpu().numpy().astype(np.float64)
        logits = logits.cpu().numpy().astype(np.float64)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            pred = decode(loc_deltas[0].float().cpu().numpy().astype(np.float64), self.default_boxes_cxcywh,
                          self.variances)
        return logits, conf, pred, window, size / (window[2] - window[0])

    @torch.inference_mode()
    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        check_frame(frame)
        p = self.params
        prev = self.box_xywh
        fill = frame_mean(frame)
        best = None  # (value, scale index, candidate index, conf, pred, penalty, window, scale)
        for i, factor in enumerate(self.scale_factors):
            logits, conf, pred, window, scale = self._detect_at(frame, prev, float(factor), fill)
            target_w, target_h = self.size[0] * scale, self.size[1] * scale
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                penalty = change_penalty(pred[:, 2], pred[:, 3], target_w, target_h, p.penalty_k, p.penalty_form)
                pscore = (penalty * conf) * (1.0 - p.window_influence) + self.window * p.window_influence
            usable = np.isfinite(pscore) & np.all(np.isfinite(pred), axis=1) & (pred[:, 2] > 0) & (pred[:, 3] > 0)
            if not usable.any():
                continue
            j = int(np.argmax(np.where(usable, pscore, -np.inf)))
            with np.errstate(divide="ignore"):
                value = logits[j] + np.log(penalty[j]) - self.scale_margins[i]
            if best is None or value > best[0]:
                best = (value, i, j, conf, pred, penalty, window, scale)
        if best is None:  # a broken network output: keep the previous box rather than emit NaN
            return prev, 0.0
        _, i, j, conf, pred, penalty, window, scale = best

        cx = window[0] + pred[j, 0] / scale
        cy = window[1] + pred[j, 1] / scale
        factor = float(self.scale_factors[i])
        s = 1.0 if factor == 1.0 else 1.0 - p.scale_lr + p.scale_lr * factor  # exactly 1 at the middle scale
        lr = penalty[j] * conf[j] * p.lr
        w, h = smooth_size((self.size[0] * s, self.size[1] * s), (pred[j, 2] / scale, pred[j, 3] / scale), lr)
        fh, fw = frame.shape[:2]
        cx, cy, w, h = clamp_state(cx, cy, w, h, (fw, fh), self.init_size, p.min_size_px, p.size_range_factor,
                                   p.clamp_to_frame)
        self.centre, self.size = (cx, cy), (w, h)
        return self.box_xywh, float(conf[j])
