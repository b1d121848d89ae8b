"""The box encoding of the seed report (SSD form), shared by trainer targets and tracker decoding.

``t = ((g_cx - d_cx) / d_w, (g_cy - d_cy) / d_h, log(g_w / d_w), log(g_h / d_h))``, optionally
divided by SSD variances ``(v_centre, v_size)`` (default 1: the seed's form). Works on numpy
arrays and torch tensors; boxes and priors are cxcywh, broadcastable in the leading dims.
"""

from __future__ import annotations

from .boxes import _asarray, _xp


def encode(gt_cxcywh, prior_cxcywh, variances=(1.0, 1.0)):
    g, d = _asarray(gt_cxcywh), _asarray(prior_cxcywh)
    xp = _xp(g)
    vc, vs = variances
    return xp.stack(
        [
            (g[..., 0] - d[..., 0]) / d[..., 2] / vc,
            (g[..., 1] - d[..., 1]) / d[..., 3] / vc,
            xp.log(g[..., 2] / d[..., 2]) / vs,
            xp.log(g[..., 3] / d[..., 3]) / vs,
        ],
        -1,
    )


def decode(delta, prior_cxcywh, variances=(1.0, 1.0)):
    t, d = _asarray(delta), _asarray(prior_cxcywh)
    xp = _xp(t)
    vc, vs = variances
    return xp.stack(
        [
            d[..., 0] + t[..., 0] * vc * d[..., 2],
            d[..., 1] + t[..., 1] * vc * d[..., 3],
            d[..., 2] * xp.exp(t[..., 2] * vs),
            d[..., 3] * xp.exp(t[..., 3] * vs),
        ],
        -1,
    )
