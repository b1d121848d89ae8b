import tomllib

from pathlib import Path

import pytest

from siamcore.toml import toml_dumps
from trainer.config import Config, ConfigError, load_config, save_config


def test_seed_defaults():
    cfg = Config().check()
    assert cfg.train.batch_size == 16
    assert cfg.optim.lr == 1e-3 and cfg.optim.lr_decay == 0.99 and cfg.optim.lr_decay_every == 1000
    assert cfg.train.epochs == 100
    assert cfg.loss.iou_positive == 0.55 and cfg.loss.iou_negative == 0.3 and cfg.loss.alpha == 1.5
    assert cfg.augment.grayscale_p == 0.2


def test_unknown_key_and_section_are_errors(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[train]\nbatch_sise = 8\n")
    with pytest.raises(ConfigError, match="unknown config key train.batch_sise"):
        load_config(p)
    p.write_text("[trian]\nbatch_size = 8\n")
    with pytest.raises(ConfigError, match=r"unknown config section \[trian\]"):
        load_config(p)
    with pytest.raises(ConfigError, match="unknown config key optim.lrr"):
        load_config(None, ["optim.lrr=0.1"])


def test_wrong_type_and_bad_values(tmp_path):
    with pytest.raises(ConfigError, match="train.batch_size: expected int"):
        load_config(None, ["train.batch_size='x'"])
    with pytest.raises(ConfigError, match="optim.name"):
        load_config(None, ["optim.name=rmsprop"])
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        load_config(None, ["train.batch_size=0"])


def test_overrides_and_round_trip(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[model]\nname = "siamrpn"\n[model.args]\nwidth = 8\n[optim]\nlr = 1\n')
    cfg = load_config(p, ["train.batch_size=4", "model.args.depth=2", "optim.name=sgd", "data.weights=[1, 2.5]"])
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.train.batch_size == 4 and cfg.optim.name == "sgd"
    assert cfg.model.args == {"width": 8, "depth": 2}
    assert cfg.data.weights == [1, 2.5]
    out = tmp_path / "run" / "config.toml"
    save_config(cfg, out)
    assert load_config(out) == cfg
    assert tomllib.loads(toml_dumps({"a": {"b": {}, "c": "q\"x"}}))["a"] == {"b": {}, "c": 'q"x'}


@pytest.mark.parametrize("value, message", [("nan", "optim.lr must be a finite number, got nan"),
                                            ("inf", "optim.lr must be a finite number, got inf"),
                                            ("0.0", "optim.lr must be > 0")])
def test_non_finite_or_zero_lr_is_refused_by_the_config_check(value, message):
    from trainer.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_config(Path(__file__).resolve().parents[2] / "pipelines/train/siamrpn.toml", [f"optim.lr={value}"]).check()


def test_a_non_finite_loss_weight_is_refused_too():
    from trainer.config import ConfigError

    with pytest.raises(ConfigError, match="loss.alpha must be a finite number"):
        load_config(Path(__file__).resolve().parents[2] / "pipelines/train/siamrpn.toml", ["loss.alpha=nan"]).check()
