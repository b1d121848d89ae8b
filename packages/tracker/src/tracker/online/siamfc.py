"""SiamFC's online tracker (Bertinetto et al. 2016): a 3-scale search on one score map per scale.

The scales ``step^{-1, 0, 1}`` are cropped with the model's search view (``window_for_box_xywh`` with
``scale=``) into one batch and scored in one forward pass. Each 17x17 map is upsampled x16 (bicubic,
272x272), the side scales are multiplied by the scale penalty, the scale with the highest peak wins;
its response is normalised (min 0, sum 1) and mixed with a normalised Hann window; the peak's offset
from the map centre, times ``total_stride / upsample`` crop px and the crop's frame scale, moves the
target; the size follows the winning scale with the scale learning rate.

The score returned with each box is a match confidence in [0, 1]: the winning scale's peak score
divided by the reference peak, the template scored against the first frame's own search crop at the
initial box (so frame 1 counts as 1.0), clipped to [0, 1]; 0 when that reference is not positive
(an untrained network). With the real weights it is 0.6-1.0 while
the target is followed and about 0.3 on frames without it. (The sigmoid of the peak logit, the
network's trained probability, saturates: the peak logits are 7-12, so it always read 1.00.)
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from siamcore.crop import frame_mean, window_for_box_xywh

from .base import CropBatch, OnlineTracker, check_frame
from .params import SiamFCParams
from .postprocess import normalise_response, normalised_hann_2d, search_scale_factors


class SiamFCTracker(OnlineTracker):
    def __init__(self, model: torch.nn.Module, params: SiamFCParams | None = None, channels_last: bool = True):
        super().__init__(model, channels_last)
        self.params = p = params or SiamFCParams()
        self.scale_factors = search_scale_factors(p.scale_count, p.scale_step)
        self.scale_penalties = np.where(np.arange(p.scale_count) == p.scale_count // 2, 1.0, p.scale_penalty)
        self._search = CropBatch(p.scale_count, self.search_view.size, self.device, channels_last)
        # The score map's side follows from the views: (255 - 127) / 8 + 1 = 17 for SiamFC.
        score_side = (self.search_view.size - self.exemplar_view.size) // p.total_stride + 1
        self._window = normalised_hann_2d(p.response_upsample * score_side)

    @torch.inference_mode()
    def init(self, frame: np.ndarray, box_xywh) -> None:
        """The base init, then the reference peak of the confidence (module docstring): one more forward
        pass, on the first frame's search crop at scale 1."""
        super().init(frame, box_xywh)
        self._search.fill(0, frame, window_for_box_xywh(self.box_xywh, self.search_view), frame_mean(frame))
        self._reference_peak = float(self.model.score(self._template, self._search.ready(1))[0, 0].max())

    @torch.inference_mode()
    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        check_frame(frame)
        p = self.params
        prev = self.box_xywh
        fill = frame_mean(frame)
        windows = [window_for_box_xywh(prev, self.search_view, scale=float(f)) for f in self.scale_factors]
        for i, window in enumerate(windows):
            self._search.fill(i, frame, window, fill)
        scores = self.model.score(self._template, self._search.ready())[:, 0].float().cpu().numpy()

        up_size = p.response_upsample * scores.shape[-1]
        responses = [cv2.resize(s, (up_size, up_size), interpolation=cv2.INTER_CUBIC) for s in scores]
        peaks = [r.max() * pen for r, pen in zip(responses, self.scale_penalties)]
        best = int(np.argmax(peaks))
        response = (1.0 - p.window_influence) * normalise_response(responses[best]) + p.window_influence * self._window
        row, col = np.unravel_index(int(np.argmax(response)), response.shape)

        centre_index = (up_size - 1) / 2.0
        window = windows[best]
        crop_to_frame = (window[2] - window[0]) / self.search_view.size
        step = p.total_stride / p.response_upsample * crop_to_frame
        cx = self.centre[0] + (col - centre_index) * step
        cy = self.centre[1] + (row - centre_index) * step
        s = (1.0 - p.scale_lr) + p.scale_lr * float(self.scale_factors[best])
        lo, hi = p.min_size_factor, p.max_size_factor
        w = min(max(self.size[0] * s, self.init_size[0] * lo), self.init_size[0] * hi)
        h = min(max(self.size[1] * s, self.init_size[1] * lo), self.init_size[1] * hi)
        fh, fw = frame.shape[:2]
        self.centre = (min(max(cx, 0.0), float(fw)), min(max(cy, 0.0), float(fh)))
        self.size = (w, h)
        peak, reference = float(scores[best].max()), self._reference_peak
        confidence = min(max(peak / reference, 0.0), 1.0) if reference > 0 else 0.0
        return self.box_xywh, confidence
