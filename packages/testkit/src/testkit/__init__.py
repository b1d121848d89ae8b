"""siamtrack's test kit: small real on-disk datasets, broken inputs, tiny shard folders and model sizes.

Used by the tests, ``scripts/demo.py`` and ``benchmarks/``; installed by ``make setup``, never needed by
a user and never shipped in a product wheel (tests/test_packaging.py checks). It sits above the product
packages: it may import them, they never import it (tests/test_import_graph.py checks).

One writer per real layout, each a deterministic function of its arguments (the same call writes the
same bytes):

- :mod:`testkit.trackingnet`, :mod:`testkit.vid`, :mod:`testkit.tlp`, :mod:`testkit.coco`: generated
  (or real-frame) datasets, with one broken input per bad-input case;
- :mod:`testkit.got10k`, :mod:`testkit.lasot`, :mod:`testkit.uav123` (real shared frames, linked) and
  :mod:`testkit.mot17` (generated): the layouts of datasets too big to ship;
- :mod:`testkit.images`: loose JPEG frames and PNG masks; :mod:`testkit.bad_inputs`: JPEG forgers;
- :mod:`testkit.scene`: the generated scenes and real sequences the writers paint with;
- :mod:`testkit.shards`: build folders through the product's shard writer and manifest schema;
- :mod:`testkit.models`: the tiny model configurations.
"""
