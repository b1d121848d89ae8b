"""The online tracker contract and the crop-to-tensor plumbing the trackers share.

``tracker.init(frame, box_xywh)`` once, then ``tracker.track(frame) -> (box_xywh, score)`` per frame.
Frames are RGB uint8 ``H x W x 3`` numpy arrays; boxes are continuous ``x, y, w, h`` frame px.
Crops come only from :func:`siamcore.crop.crop_square` on windows from
:func:`siamcore.crop.window_for_box_xywh`, filled with :func:`siamcore.crop.frame_mean` computed once
per frame: the same crops dataprep writes for training.
"""

from __future__ import annotations

import numpy as np
import torch
from siamcore.boxes import is_valid_xywh
from siamcore.crop import crop_square, frame_mean, window_for_box_xywh


class OnlineTracker:
    """Base class: subclasses implement :meth:`track` (and :meth:`_compute_template` if needed).

    It holds what every Siamese tracker here shares: the model (eval mode, channels-last weights),
    its views, a preallocated exemplar batch, and the target state ``centre`` / ``size`` (frame px)
    with the initial size that bounds later sizes.
    """

    name: str = ""

    def __init__(self, model: torch.nn.Module, channels_last: bool = True):
        self.model = model.eval()
        self.name = model.name
        self.device = model_device(model)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.exemplar_view = model.views["exemplar"]
        self.search_view = model.views["search"]
        self._exemplar = CropBatch(1, self.exemplar_view.size, self.device, channels_last)

    @torch.inference_mode()
    def init(self, frame: np.ndarray, box_xywh) -> None:
        """Check the inputs, crop the exemplar around the first box, compute the template once and
        set the target state to that box."""
        check_frame(frame)
        box = check_init_box(box_xywh, frame)
        window = window_for_box_xywh(box, self.exemplar_view)
        self._exemplar.fill(0, frame, window, frame_mean(frame))
        self._template = self._compute_template(box, window)
        self.centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
        self.size = (float(box[2]), float(box[3]))
        self.init_size = self.size

    def _compute_template(self, box_xywh: np.ndarray, window_xyxy: np.ndarray):
        """The model's template of the filled exemplar batch (subclasses add what their model needs)."""
        return self.model.template(self._exemplar.ready())

    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        raise NotImplementedError

    @property
    def box_xywh(self) -> np.ndarray:
        (cx, cy), (w, h) = self.centre, self.size
        return np.array([cx - w / 2, cy - h / 2, w, h])


def check_frame(frame: np.ndarray) -> None:
    if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3):
        got = f"{type(frame).__name__} {getattr(frame, 'dtype', '')} {getattr(frame, 'shape', '')}"
        raise ValueError(f"frames must be RGB uint8 H x W x 3 numpy arrays, got {got}")


def check_init_box(box_xywh, frame: np.ndarray) -> np.ndarray:
    box = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    h, w = frame.shape[:2]
    if not is_valid_xywh(box, (w, h)):
        raise ValueError(f"initial box {box.tolist()} is not a positive-size box overlapping the {w}x{h} frame")
    return box


class CropBatch:
    """A preallocated float input batch ``[n, 3, size, size]`` (channels-last) filled from crops.

    Avoids per-frame allocation of the network input: on CPU each crop is converted straight into
    the batch; on CUDA crops go through a pinned uint8 staging buffer and are converted on the GPU.
    A channels-last CPU batch is filled through its NHWC numpy view: a plain single-threaded cast-copy
    (as fast as torch's), which keeps torch's thread pool idle beside the onnxruntime backend's threads
    (measured on 2 busy cores: torch's parallel copy then took 3-8 ms per crop instead of 0.01 ms).
    """

    def __init__(self, n: int, size: int, device: torch.device, channels_last: bool = True):
        self.size = size
        self.device = device
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.tensor = torch.empty((n, 3, size, size), dtype=torch.float32, device=device, memory_format=fmt)
        self._cuda = device.type == "cuda"
        self._hwc = self.tensor.permute(0, 2, 3, 1).numpy() if channels_last and not self._cuda else None
        if self._cuda:
            self._host = torch.empty((n, size, size, 3), dtype=torch.uint8, pin_memory=True)
            self._dev = torch.empty((n, size, size, 3), dtype=torch.uint8, device=device)

    def fill(self, index: int, frame: np.ndarray, window_xyxy, fill) -> None:
        crop = crop_square(frame, window_xyxy, self.size, fill=fill)
        if self._cuda:
            self._host[index].numpy()[...] = crop
        elif self._hwc is not None:
            self._hwc[index] = crop
        else:
            self.tensor[index].copy_(torch.from_numpy(crop).permute(2, 0, 1))

    def ready(self, count: int | None = None) -> torch.Tensor:
        """The input batch (its first ``count`` items), after the staged crops reached the device."""
        count = self.tensor.shape[0] if count is None else count
        if self._cuda:
            self._dev[:count].copy_(self._host[:count], non_blocking=True)
            self.tensor[:count].copy_(self._dev[:count].permute(0, 3, 1, 2))
        return self.tensor[:count]


def model_device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
