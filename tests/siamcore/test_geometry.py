"""Box conversions, IoU, anchors, default boxes and the box encoding."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from siamcore import anchors, boxes, encoding

coord = st.floats(-500, 500, allow_nan=False)
size = st.floats(0.5, 500, allow_nan=False)
box_xywh = st.tuples(coord, coord, size, size)


@given(box_xywh)
def test_conversions_round_trip(b):
    b = np.array(b)
    np.testing.assert_allclose(boxes.xyxy_to_xywh(boxes.xywh_to_xyxy(b)), b, atol=1e-9)
    np.testing.assert_allclose(boxes.cxcywh_to_xywh(boxes.xywh_to_cxcywh(b)), b, atol=1e-9)


@given(box_xywh, box_xywh)
def test_iou_symmetric_and_bounded(a, b):
    ab, ba = boxes.iou_xywh(np.array(a), np.array(b)), boxes.iou_xywh(np.array(b), np.array(a))
    assert ab == pytest.approx(ba)
    assert 0.0 <= ab <= 1.0 + 1e-12
    assert boxes.iou_xywh(np.array(a), np.array(a)) == pytest.approx(1.0)


def test_iou_hand_cases():
    assert boxes.iou_xyxy(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(50 / 150)
    assert boxes.iou_xyxy(np.array([0, 0, 10, 10]), np.array([10, 0, 20, 10])) == 0.0
    assert boxes.iou_xyxy(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0])) == 0.0


def test_iou_matrix_works_on_torch_and_numpy_alike():
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [0, 0, 5, 5], [20, 20, 30, 30]], dtype=np.float32)
    m_np = boxes.iou_matrix_xyxy(a, b)
    m_t = boxes.iou_matrix_xyxy(torch.from_numpy(a), torch.from_numpy(b))
    assert isinstance(m_t, torch.Tensor) and m_np.shape == (2, 3)
    np.testing.assert_allclose(m_t.numpy(), m_np, rtol=1e-6)


def test_is_valid_xywh():
    assert boxes.is_valid_xywh([1, 2, 3, 4])
    for bad in ([1, 2, 0, 4], [1, 2, -3, 4], [np.nan, 2, 3, 4], [1, 2, 3]):
        assert not boxes.is_valid_xywh(bad)
    assert not boxes.is_valid_xywh([400, 10, 20, 20], frame_wh=(320, 240))
    assert boxes.is_valid_xywh([310, 10, 20, 20], frame_wh=(320, 240))


def test_rpn_anchors_grid_and_shapes():
    a = anchors.rpn_anchors_cxcywh()
    assert a.shape == (17 * 17 * 5, 4)
    # order: row, column, ratio -> the centre cell is index (8*17+8)*5
    centre = a[(8 * 17 + 8) * 5 : (8 * 17 + 9) * 5]
    np.testing.assert_allclose(centre[:, :2], 127.5)
    np.testing.assert_allclose(centre[:, 2] * centre[:, 3], 64.0**2)
    np.testing.assert_allclose(centre[:, 3] / centre[:, 2], anchors.SIAMRPN_RATIOS)
    assert a[5, 0] - a[0, 0] == 8 and a[17 * 5, 1] - a[0, 1] == 8


def test_ssd_default_boxes_count_and_shapes():
    d = anchors.ssd_default_boxes_cxcywh((32, 16), (50.0, 75.0, 100.0))
    assert d.shape == (32 * 32 * 6 + 16 * 16 * 6, 4) == (7680, 4)
    first = d[:6]
    np.testing.assert_allclose(first[:, :2], 255 / 64)
    np.testing.assert_allclose(first[0, 2:], [50, 50])
    np.testing.assert_allclose(first[1, 2:], [np.sqrt(50 * 75)] * 2)
    np.testing.assert_allclose(first[2, 2:], [50 * np.sqrt(2), 50 / np.sqrt(2)])
    with pytest.raises(ValueError):
        anchors.ssd_default_boxes_cxcywh((32, 16), (50.0, 75.0))


@given(st.tuples(coord, coord, size, size), st.tuples(coord, coord, size, size), st.sampled_from([(1, 1), (0.1, 0.2)]))
def test_encode_decode_round_trip(g, d, var):
    g, d = np.array(g), np.array(d)
    np.testing.assert_allclose(encoding.decode(encoding.encode(g, d, var), d, var), g, rtol=1e-7, atol=1e-6)


def test_encoding_matches_seed_formula_on_torch():
    g = torch.tensor([[110.0, 90.0, 40.0, 20.0]])
    d = torch.tensor([[100.0, 100.0, 20.0, 40.0]])
    t = encoding.encode(g, d)
    torch.testing.assert_close(t, torch.tensor([[0.5, -0.25, np.log(2.0), np.log(0.5)]], dtype=torch.float32))
