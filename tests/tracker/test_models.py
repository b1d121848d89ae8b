"""The four networks: view shapes, default-box order and count, gradients, registry, FLOPs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from siamcore.anchors import rpn_anchors_cxcywh, ssd_default_boxes_cxcywh
from siamcore.encoding import decode

from tracker.models import (
    SiamFC, SiamModel, box_mask, create_model, list_models, model_flops, prepare_for_inference, xcorr,
)

from testkit.models import TINY_CONFIGS

RPN_MODELS = ["siamrpn", "siamconcatrpn", "siambroadcastrpn"]


def _inputs(model, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    views = model.views
    ex = torch.rand(batch, 3, views["exemplar"].size, views["exemplar"].size, generator=gen) * 255
    se = torch.rand(batch, 3, views["search"].size, views["search"].size, generator=gen) * 255
    guides = {}
    if model.needs_guide:
        for role, img in (("exemplar_guide", ex), ("search_guide", se)):
            s = img.shape[-1]
            guides[role] = box_mask(torch.tensor([[s * 0.3, s * 0.35, s * 0.7, s * 0.6]] * batch), s)
    return ex, se, guides


def test_registry_lists_and_builds():
    assert list_models() == ["siambroadcastrpn", "siamconcatrpn", "siamfc", "siamrpn"]
    assert isinstance(create_model("siamfc-alexnet"), SiamFC)  # alias: the shipped file's name
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        create_model("nope")


@pytest.mark.parametrize("name", RPN_MODELS)
def test_rpn_forward_shapes_match_default_boxes(name):
    torch.manual_seed(0)
    model = create_model(name, **TINY_CONFIGS[name]).eval()
    assert isinstance(model, SiamModel) and model.name == name
    ex, se, guides = _inputs(model)
    with torch.inference_mode():
        conf, loc = model(ex, se, **guides)
    n = model.default_boxes_cxcywh.shape[0]
    assert conf.shape == (2, n) and loc.shape == (2, n, 4)
    assert torch.isfinite(conf).all() and torch.isfinite(loc).all()
    expected_n = {"siamrpn": 17 * 17 * 5, "siamconcatrpn": (32**2 + 16**2 + 8**2 + 4**2) * 6,
                  "siambroadcastrpn": 7680}[name]
    assert n == expected_n


def test_default_boxes_come_from_siamcore():
    rpn = create_model("siamrpn", **TINY_CONFIGS["siamrpn"])
    np.testing.assert_allclose(rpn.default_boxes_cxcywh.numpy(), rpn_anchors_cxcywh(), rtol=1e-6)
    bc = create_model("siambroadcastrpn", **TINY_CONFIGS["siambroadcastrpn"])
    assert bc.feature_sizes == [32, 16]
    np.testing.assert_allclose(bc.default_boxes_cxcywh.numpy(),
                               ssd_default_boxes_cxcywh((32, 16), (50.0, 62.0, 75.0)), rtol=1e-6)
    cc = create_model("siamconcatrpn", **TINY_CONFIGS["siamconcatrpn"])
    assert cc.feature_sizes == [32, 16, 8, 4]
    assert "default_boxes_cxcywh" not in rpn.state_dict()  # derived from the config, not stored


def test_rpn_views_and_guides_declared():
    expect = {"siamrpn": ((127, 0.5), (255, 1.5), False), "siamconcatrpn": ((255, 1.5), (255, 1.5), True),
              "siambroadcastrpn": ((63, 0.1), (255, 2.0), False)}
    for name, (ex, se, guide) in expect.items():
        m = create_model(name, **TINY_CONFIGS[name])
        assert (m.views["exemplar"].size, m.views["exemplar"].context) == ex
        assert (m.views["search"].size, m.views["search"].context) == se
        assert m.needs_guide is guide and m.variances == (1.0, 1.0)
    with pytest.raises(ValueError, match="guide mask"):
        m = create_model("siamconcatrpn", **TINY_CONFIGS["siamconcatrpn"])
        m.template(torch.zeros(1, 3, 255, 255))


def test_anchor_order_matches_head_layout():
    """Conf for anchor (row, col, ratio) lands at the index siamcore's order gives it."""
    model = create_model("siamrpn", **TINY_CONFIGS["siamrpn"]).eval()
    with torch.no_grad():
        model.conf_norm.bias.copy_(torch.tensor([0.0, 0.0, 100.0, 0.0, 0.0]))  # boost ratio 1 only
        model.template_conf.weight.zero_()
        model.template_conf.bias.zero_()
        conf, _ = model(*_inputs(model, batch=1)[:2])
    top = conf[0].argmax().item()
    assert model.default_boxes_cxcywh[top, 2] == pytest.approx(64.0)  # ratio-1 anchor: 64 x 64
    assert (conf[0] > 50).sum() == 17 * 17


# Every trunk x head combination of the RPN family (small widths where the architecture allows).
VARIANTS = [
    ("siamrpn", TINY_CONFIGS["siamrpn"]),
    ("siamrpn", {**TINY_CONFIGS["siamrpn"], "head": "dwxcorr"}),
    ("siamrpn", {"channels": 32, "backbone": "siamfc", "head": "dwxcorr"}),
    ("siamrpn", {"channels": 32, "backbone": "siamfc", "head": "upchannel"}),
    ("siamrpn", {"channels": 32, "backbone": "siamfc", "head": "dwxcorr", "conf_adjust": False, "conf_prior": True}),
    ("siamconcatrpn", TINY_CONFIGS["siamconcatrpn"]),
    ("siamconcatrpn", {"backbone": "siamfc", "channels": 32, "refine_channels": 16, "extra_channels": [32, 16, 16]}),
    ("siambroadcastrpn", TINY_CONFIGS["siambroadcastrpn"]),
    ("siambroadcastrpn", {"backbone": "siamfc", "channels": 32, "block_channels": 8}),
]
VARIANT_IDS = [f"{n}-{a.get('backbone', 'default')}-{a.get('head', '')}{'-prior' if a.get('conf_prior') else ''}"
               .rstrip("-") for n, a in VARIANTS]


@pytest.mark.parametrize(("name", "args"), VARIANTS, ids=VARIANT_IDS)
def test_decoded_boxes_equal_the_default_boxes_before_training(name, args):
    """The box-delta layers start at zero, so every decoded box is its anchor / default box at step 0
    (a random regression layer decodes boxes far off them and costs hundreds of steps to undo)."""
    torch.manual_seed(3)
    model = create_model(name, **args).eval()
    ex, se, guides = _inputs(model)
    with torch.inference_mode():
        _, loc = model(ex, se, **guides)
    assert torch.count_nonzero(loc) == 0
    priors = model.default_boxes_cxcywh.expand(2, -1, -1)
    torch.testing.assert_close(decode(loc, priors), priors)


@pytest.mark.parametrize(("name", "args"), VARIANTS, ids=VARIANT_IDS)
def test_features_path_equals_the_image_path(name, args):
    """``model(features=True)`` on the trunk's outputs (the trainer's feature cache) gives the same outputs."""
    torch.manual_seed(4)
    model = create_model(name, **args).eval()
    for layer in model.regression_outputs():
        torch.nn.init.normal_(layer.weight, std=0.01)
    ex, se, guides = _inputs(model)
    eg, sg = guides.get("exemplar_guide"), guides.get("search_guide")
    with torch.inference_mode():
        direct = model(ex, se, eg, sg)
        if model.trunk_takes_guide:
            return  # the trunk needs the masks: no feature path
        cached = model(model.exemplar_features(ex), model.search_features(se), eg, sg, features=True)
    for a, b in zip(direct, cached):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["siamfc", *RPN_MODELS])
def test_gradient_reaches_every_parameter_group(name):
    torch.manual_seed(1)
    model = create_model(name, **TINY_CONFIGS[name]).train()
    ex, se, guides = _inputs(model)
    if name == "siamfc":
        loss = model(ex, se).square().mean()
    else:
        # The box-delta outputs start at zero and pass no gradient upstream before their first update:
        # give them weights, as any step after the first does.
        for layer in model.regression_outputs():
            torch.nn.init.normal_(layer.weight, std=0.01)
        conf, loc = model(ex, se, **guides)
        loss = conf.square().mean() + (loc - 1).square().mean()
    loss.backward()
    groups: dict[str, float] = {}
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        group = pname.split(".")[0]
        groups[group] = groups.get(group, 0.0) + p.grad.abs().sum().item()
    assert all(v > 0 for v in groups.values()), groups


def test_siamfc_views_and_shapes():
    model = SiamFC().eval()
    assert model.views["exemplar"].size == 127 and model.views["search"].size == 255
    assert model.views["search"].extent == pytest.approx(255 / 127)
    with torch.inference_mode():
        feat = model.template(torch.zeros(1, 3, 127, 127))
        assert feat.shape == (1, 256, 6, 6)
        assert model.score(feat, torch.zeros(3, 3, 255, 255)).shape == (3, 1, 17, 17)


def test_xcorr_batched_equals_per_pair():
    gen = torch.Generator().manual_seed(2)
    search = torch.randn(3, 8, 10, 10, generator=gen)
    kernels = torch.randn(3 * 2, 8, 4, 4, generator=gen)
    out = xcorr(search, kernels, 2)
    assert out.shape == (3, 2, 7, 7)
    for b in range(3):
        ref = torch.nn.functional.conv2d(search[b : b + 1], kernels[2 * b : 2 * b + 2])
        torch.testing.assert_close(out[b : b + 1], ref)
    shared = xcorr(search, kernels[:2], 2)  # one template against every search image
    torch.testing.assert_close(shared[1:2], torch.nn.functional.conv2d(search[1:2], kernels[:2]))
    with pytest.raises(ValueError, match="template batch"):
        xcorr(search, kernels[:4], 2)


def test_box_mask_pixels():
    mask = box_mask(torch.tensor([[2.0, 1.0, 5.0, 3.0], [4.2, 4.2, 4.4, 4.4]]), 8)
    assert mask.shape == (2, 1, 8, 8) and mask.dtype == torch.float32
    expected = torch.zeros(8, 8)
    expected[1:3, 2:5] = 1  # pixel centres 2.5, 3.5, 4.5 in x; 1.5, 2.5 in y
    assert torch.equal(mask[0, 0], expected)
    assert mask[1, 0].sum() == 1 and mask[1, 0, 4, 4] == 1  # tiny box keeps its centre pixel


def test_channels_last_gives_same_output():
    model = create_model("siamrpn", **TINY_CONFIGS["siamrpn"]).eval()
    ex, se, _ = _inputs(model, batch=1)
    with torch.inference_mode():
        ref = model(ex, se)
        model_cl = prepare_for_inference(model)
        assert model_cl.backbone.features[0].weight.is_contiguous(memory_format=torch.channels_last)
        assert not any(p.requires_grad for p in model_cl.parameters())
        out = model_cl(ex.contiguous(memory_format=torch.channels_last),
                       se.contiguous(memory_format=torch.channels_last))
    for got, want in zip(out, ref):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())


def test_model_flops_siamrpn_and_siamfc():
    rpn = model_flops(create_model("siamrpn"))
    assert 9.0e9 < rpn["track"] < 10.5e9  # AlexNet trunk at 255 + RPN: ~9.6 GFLOP
    fc = model_flops(create_model("siamfc"), num_scales=3)
    assert 15.5e9 < fc["track"] < 17e9  # 3 scales of grouped AlexNet at 255: ~16.3 GFLOP
    assert fc["template"] < fc["track"] / 10


@pytest.mark.parametrize("name", ["siambroadcastrpn", "siamconcatrpn"])
def test_resnet_models_train_a_few_steps_on_cpu(name):
    torch.manual_seed(5)
    model = create_model(name, **TINY_CONFIGS[name]).train()
    assert len(model.backbone_modules()) == (2 if name == "siambroadcastrpn" else 1)
    ex, se, guides = _inputs(model)
    target = torch.zeros(2, model.default_boxes_cxcywh.shape[0])
    target[:, ::97] = 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        conf, loc = model(ex, se, **guides)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(conf, target) + loc.square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_config_rebuilds_the_same_architecture():
    for name in list_models():
        model = create_model(name, **TINY_CONFIGS[name])
        again = create_model(name, **json.loads(json.dumps(model.config())))
        shapes = {k: v.shape for k, v in model.state_dict().items()}
        assert {k: v.shape for k, v in again.state_dict().items()} == shapes


def test_siamfc_trunk_variants_views_and_default_box_centres():
    """On the unpadded SiamFC AlexNet (255 -> 22x22, cells centred at 43.5 + 8 i px) the SSD heads put
    their default boxes on the cells' receptive fields; SiamBroadcastRPN takes SiamRPN's views (a 63-px
    crop has no AlexNet map at all)."""
    from tracker.backbones import AlexNet

    assert AlexNet("siamfc").feature_grid(255) == (22, 43.5, 8.0)
    assert AlexNet("siamfc").feature_grid(127) == (6, 43.5, 8.0)
    bc = create_model("siambroadcastrpn", backbone="siamfc", channels=16, block_channels=8)
    assert (bc.views["exemplar"].size, bc.views["exemplar"].context) == (127, 0.5)
    assert (bc.views["search"].size, bc.views["search"].context) == (255, 1.5)
    assert bc.feature_sizes == [22, 11] and bc.trunk_modules()["exemplar"] is bc.trunk_modules()["search"]
    centres = np.unique(bc.default_boxes_cxcywh[: 22 * 22 * 6, 0].numpy())
    np.testing.assert_allclose(centres, 43.5 + 8 * np.arange(22))
    cc = create_model("siamconcatrpn", backbone="siamfc", channels=16, refine_channels=8, extra_channels=[8, 8, 8])
    assert cc.views["exemplar"] == cc.views["search"] and cc.feature_sizes == [22, 11, 6, 3]
    assert not cc.trunk_takes_guide and create_model("siamconcatrpn", **TINY_CONFIGS["siamconcatrpn"]).trunk_takes_guide
    np.testing.assert_allclose(np.unique(cc.default_boxes_cxcywh[22 * 22 * 6: (22 * 22 + 121) * 6, 0].numpy()),
                               43.5 + 16 * np.arange(11))
    with pytest.raises(ValueError, match="backbone"):
        create_model("siambroadcastrpn", backbone="vgg")


def test_siamfc_score_prior_starts_as_siamfc():
    """SiamRPN's ``conf_prior``: at step 0 the classification logits equal the real SiamFC score map
    when the trunk holds SiamFC's weights (here: random weights loaded into both)."""
    torch.manual_seed(5)
    rpn = create_model("siamrpn", backbone="siamfc", head="dwxcorr", channels=16, conf_adjust=False,
                       conf_prior=True).eval()
    fc = SiamFC().eval()
    fc.backbone.load_state_dict(rpn.backbone.state_dict())
    torch.nn.init.zeros_(rpn.conf_branch.head[-1].weight)  # silence the learned part: only the prior speaks
    torch.nn.init.zeros_(rpn.conf_branch.head[-1].bias)
    ex, se, _ = _inputs(rpn, batch=1)
    with torch.inference_mode():
        conf, _ = rpn(ex, se)
        score = fc(ex, se)  # [1, 1, 17, 17]
    torch.testing.assert_close(conf.view(17, 17, 5), score[0, 0, :, :, None].expand(17, 17, 5), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="prior needs the unadjusted"):
        create_model("siamrpn", backbone="siamfc", head="dwxcorr", conf_prior=True)
