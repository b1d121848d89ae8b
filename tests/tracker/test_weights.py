"""Weights on disk: round trips, the shipped SiamFC file, backbone loading with weights_only."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from safetensors import safe_open
from siamcore.atomic import TEMP_MARK
from siamcore.crop import crop_square, window_for_box_xywh

from tracker.backbones import AlexNet, resnet50
from tracker.models import box_mask, create_model
from tracker.weights import load_backbone_weights, load_model, save_model

from testkit.models import TINY_CONFIGS


def _siamfc_file(shared_data):
    path = shared_data / "weights" / "siamfc_alexnet.safetensors"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.parametrize("name", ["siamfc", "siamrpn", "siamconcatrpn", "siambroadcastrpn"])
def test_save_load_round_trip_identical_outputs(tmp_path, name):
    torch.manual_seed(3)
    model = create_model(name, **TINY_CONFIGS[name]).eval()
    with torch.no_grad():  # make batch-norm statistics non-trivial so they must round-trip too
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    path = save_model(model, tmp_path / f"{name}.safetensors")
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["model"] == name and info["format"] == "siamtrack"
    assert info["views"]["search"]["size"] == model.views["search"].size
    with safe_open(str(path), framework="pt") as f:
        assert json.loads(f.metadata()["config"]) == model.config()
    assert not list(tmp_path.glob(f".*{TEMP_MARK}*"))

    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.config() == model.config() and not loaded.training
    gen = torch.Generator().manual_seed(4)
    ex = torch.rand(1, 3, model.views["exemplar"].size, model.views["exemplar"].size, generator=gen) * 255
    se = torch.rand(1, 3, model.views["search"].size, model.views["search"].size, generator=gen) * 255
    kwargs = {}
    if model.needs_guide:
        kwargs = {"exemplar_guide": box_mask(torch.tensor([[90.0, 80, 160, 170]]), 255),
                  "search_guide": box_mask(torch.tensor([[100.0, 90, 170, 160]]), 255)}
    with torch.inference_mode():
        a, b = model(ex, se, **kwargs), loaded(ex, se, **kwargs)
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert torch.equal(x, y)


def test_load_model_says_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.safetensors")
    path = save_model(create_model("siamrpn", **TINY_CONFIGS["siamrpn"]), tmp_path / "rpn.safetensors")
    with pytest.raises(ValueError, match="does not fit model 'siamfc'"):
        load_model(path, model_name="siamfc")
    with pytest.raises(ValueError, match="holds model 'siamrpn' and does not fit model 'siambroadcastrpn'"):
        load_model(path, model_name="siambroadcastrpn")
    assert load_model(path, model_name="siamrpn").name == "siamrpn"  # agreeing with the file is fine
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        load_model(path, model_name="nope")
    bare = tmp_path / "bare.pt"  # a plain state dict without its JSON: the model must be named
    torch.save(create_model("siamrpn", **TINY_CONFIGS["siamrpn"]).state_dict(), bare)
    with pytest.raises(ValueError, match="does not say which model"):
        load_model(bare)
    with pytest.raises(ValueError, match="does not fit model 'siamrpn'") as err:  # built with the default config
        load_model(bare, model_name="siamrpn")
    assert len(str(err.value).splitlines()) <= 4  # the gist, not one line per tensor


def test_shipped_siamfc_weights_peak_at_the_target(shared_data):
    model = load_model(_siamfc_file(shared_data))
    assert model.adjust_scale.item() == pytest.approx(0.001)
    assert model.adjust_bias.item() == pytest.approx(-2.1483638)
    seq = shared_data / "otb" / "Couple"
    frame = cv2.imdecode(np.fromfile(seq / "img" / "0001.jpg", np.uint8), cv2.IMREAD_COLOR_RGB)
    first_row = (seq / "groundtruth_rect.txt").read_text().split("\n")[0]
    x, y, w, h = (float(v) for v in first_row.replace(",", " ").split())
    box_xywh = (x - 1, y - 1, w, h)  # OTB is 1-based

    def tensor(img):
        return torch.from_numpy(img).permute(2, 0, 1)[None].float()

    exemplar = crop_square(frame, window_for_box_xywh(box_xywh, model.views["exemplar"]), 127)
    with torch.inference_mode():
        feat = model.template(tensor(exemplar))
        for shift_px, peak in (((0, 0), (8, 8)), ((32, -24), (11, 4))):  # target moves by -shift / 8 cells
            search = crop_square(frame, window_for_box_xywh(box_xywh, model.views["search"], shift_px=shift_px), 255)
            score = model.score(feat, tensor(search))[0, 0]
            assert score.shape == (17, 17)
            row, col = divmod(int(score.argmax()), 17)
            assert abs(row - peak[0]) <= 1 and abs(col - peak[1]) <= 1, (shift_px, row, col)
            assert score.max() > 0 > score.mean()


def test_backbone_weights_torchvision_names_via_weights_only(tmp_path):
    source = AlexNet("torchvision")
    state = {**source.state_dict(), "classifier.1.weight": torch.zeros(4096, 9216)}
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "alexnet.pth")
    target = AlexNet("torchvision")
    report = load_backbone_weights(target, tmp_path / "alexnet.pth", strict=True)
    assert len(report.loaded) == 10 and report.unexpected == ["classifier.1.weight"] and not report.missing
    for k, v in source.state_dict().items():
        assert torch.equal(target.state_dict()[k], v)

    trunk = resnet50("layer2", width=8, blocks=(1, 1), guide=True)
    full = resnet50("layer4", width=8, blocks=(1, 1, 1, 1))
    torch.save(full.state_dict(), tmp_path / "resnet.pth")
    report = load_backbone_weights(trunk, tmp_path / "resnet.pth")
    assert report.missing == ["guide_conv.weight"]
    assert any(k.startswith("layer4.") for k in report.unexpected)
    assert torch.equal(trunk.layer2[0].conv2.weight, full.layer2[0].conv2.weight)
    with pytest.raises(ValueError, match="does not fit"):
        fresh = resnet50("layer2", width=8, blocks=(1, 1), guide=True)
        load_backbone_weights(fresh, tmp_path / "resnet.pth", strict=True)


class _NotATensor:
    pass


def test_backbone_weights_refuse_pickled_objects(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": _NotATensor()}, path)
    with pytest.raises(ValueError, match="not a siamtrack/safetensors weights file") as err:
        load_backbone_weights(AlexNet("bn"), path)
    assert "weights_only" not in str(err.value)  # torch's advice to turn it off must not reach users


def test_siamfc_file_into_alexnet_variants(shared_data):
    path = _siamfc_file(shared_data)
    grouped = AlexNet("siamfc")
    report = load_backbone_weights(grouped, path, strict=True)
    assert len(report.loaded) == 10
    with safe_open(str(path), framework="pt") as f:
        assert torch.equal(grouped.features[3].weight, f.get_tensor("conv2.weight"))
    bn = AlexNet("bn")
    report = load_backbone_weights(bn, path)
    assert sorted(report.loaded) == ["features.0.bias", "features.0.weight", "features.8.bias", "features.8.weight"]
    # grouped conv2/4/5 do not fit the ungrouped trunk: neither their weights nor their biases load
    assert sorted(report.mismatched) == [f"features.{i}.{p}" for i in (11, 14, 4) for p in ("bias", "weight")]
    assert "features.1.weight" in report.missing  # batch norms are not in the file


def test_weights_carry_the_tracking_parameters_they_were_evaluated_with(tmp_path):
    """A trainer run records its tracking parameters in the export; `tracker eval/run --weights` then
    tracks as the run did, an explicit --params file still wins, and absent any the model's defaults apply."""
    from tracker.online import RPNParams, load_tracker
    from tracker.online.factory import params_for_weights

    model = create_model("siamrpn", **TINY_CONFIGS["siamrpn"])
    plain = save_model(model, tmp_path / "plain.safetensors")
    recorded = save_model(model, tmp_path / "tuned.safetensors",
                          tracking={"scale_count": 3, "window_influence": 0.25, "lr": 0.0})
    assert json.loads(recorded.with_suffix(".json").read_text())["tracking"]["scale_count"] == 3
    assert load_tracker(plain).params == RPNParams()
    tuned = load_tracker(recorded).params
    assert (tuned.scale_count, tuned.window_influence, tuned.lr, tuned.penalty_k) == (3, 0.25, 0.0, RPNParams().penalty_k)
    explicit = tmp_path / "p.toml"
    explicit.write_text("window_influence = 0.5\n")
    assert params_for_weights(recorded, "siamrpn", explicit) == RPNParams(window_influence=0.5)
    bad = save_model(model, tmp_path / "bad.safetensors", tracking={"scale_count": 2})
    with pytest.raises(ValueError, match="bad.safetensors .its tracking parameters.: scale_count must be odd"):
        load_tracker(bad)
