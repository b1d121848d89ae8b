"""siamtrack tracker: networks, the online tracker and OTB-style evaluation.

- :mod:`tracker.models`, :mod:`tracker.backbones`, :mod:`tracker.weights`: the four networks and their files.
- :mod:`tracker.online`: ``init(frame, box_xywh)`` / ``track(frame) -> (box_xywh, score)`` trackers.
- :mod:`tracker.datasets`: OTB/VOT sequences (re-exported from :mod:`siamcore.datasets`), frame folders,
  videos, OTB-format result files.
- :mod:`tracker.evaluation`: the benchmarks behind one contract and the ``BENCHMARKS`` registry (OTB-style
  OPE, UAV123, TLP, DAVIS, LaSOT, TrackingNet, VOT, GOT-10k), their pure metrics, scoring, plots and tables;
  :mod:`tracker.tune` (hyper-parameter search), :mod:`tracker.render` (annotated H.264 mp4 / compact GIF),
  :mod:`tracker.interactive` (``--select``); :mod:`tracker.cli` is the ``tracker`` command (over
  :mod:`tracker.track_video`, :mod:`tracker.loading` and :mod:`tracker.evaluation`).
"""

from siamcore.cpus import choose_openmp_waiting

# Before anything imports torch: OpenMP threads that sleep instead of spinning between parallel regions
# keep the tracker's speed when other processes share the cores (siamcore.cpus explains and measures it).
choose_openmp_waiting(passive=True)
