"""siamtrack-core: the one geometry (boxes, crops, anchors, box encoding) and the shard record schema.

Box conventions used everywhere in siamtrack:
  * pixel-continuous coordinates, origin at the top-left corner of the top-left pixel
    (pixel ``i`` covers ``[i, i+1)``, its centre is ``i + 0.5``);
  * ``xywh``  = (left, top, width, height)      -- datasets, OTB files, tracker output;
  * ``xyxy``  = (left, top, right, bottom)      -- everything stored in shards;
  * ``cxcywh`` = (centre x, centre y, width, height) -- anchors / default boxes and encoding.
The functions here work on numpy arrays and on torch tensors alike (no torch import).
"""

__version__ = "0.1.0"
