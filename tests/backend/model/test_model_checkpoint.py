import json

import numpy as np
import pytest
import torch

from motion_mamba.model.checkpoint import BundleError, load_bundle, read_bundle_config, save_bundle, weights_hash
from motion_mamba.model.motion_model import MotionModel
from motion_mamba.model.presets import get_preset


@pytest.fixture
def model() -> MotionModel:
    torch.manual_seed(0)
    m = MotionModel(get_preset("test"))
    rng = np.random.default_rng(0)
    m.set_statistics(feature_mean=rng.normal(size=263), feature_std=rng.uniform(0.5, 2, 263),
                     latent_mean=rng.normal(size=(2, 32)), latent_std=rng.uniform(0.5, 2, (2, 32)))
    return m


def test_round_trip(model, tmp_path):
    path = save_bundle(tmp_path / "bundle", model, {"epochs": 3})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no temporary leftovers
    loaded, doc = load_bundle(path)
    assert doc["metadata"] == {"epochs": 3} and doc["skeleton"] == "smpl22" and doc["text_encoder"] == "tiny"
    assert doc["content_hash"] == weights_hash(model) == weights_hash(loaded)
    assert loaded.config == model.config and not loaded.training
    for name, value in model.statistics().items():
        np.testing.assert_array_equal(loaded.statistics()[name], value)
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k


def test_saving_again_replaces_the_bundle(model, tmp_path):
    save_bundle(tmp_path / "b", model)
    with torch.no_grad():
        model.vae.final_layer.bias.add_(1.0)
    save_bundle(tmp_path / "b", model)
    assert load_bundle(tmp_path / "b")[1]["content_hash"] == weights_hash(model)
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_hash_changes_with_weights_and_statistics(model):
    h = weights_hash(model)
    model.set_statistics(latent_std=np.ones((2, 32)))
    assert weights_hash(model) != h


def test_missing_directory_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_bundle(tmp_path / "nope")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda p: (p / "config.json").unlink(), "config.json: missing"),
        (lambda p: (p / "config.json").write_text("{not json"), "not valid JSON"),
        (lambda p: (p / "model.safetensors").write_bytes((p / "model.safetensors").read_bytes()[:1000]), "SHA-256"),
        (lambda p: _edit(p, lambda d: d.pop("normalization")), "missing field 'normalization'"),
        (lambda p: _edit(p, lambda d: d.update(format_version=99)), "format_version 99"),
        (lambda p: _edit(p, lambda d: d["config"]["denoiser"].update(arch="transformer")), "does not fit the config"),
        (lambda p: _edit(p, lambda d: d["normalization"].update(feature_std=[0.0] * 263)), "feature_std"),
    ],
)
def test_damaged_bundles_raise_one_clear_error(model, tmp_path, damage, message):
    path = save_bundle(tmp_path / "b", model)
    damage(path)
    with pytest.raises(BundleError, match=message):
        load_bundle(path)


def _edit(path, change):
    doc = json.loads((path / "config.json").read_text())
    change(doc)
    (path / "config.json").write_text(json.dumps(doc))


def test_read_config_only(model, tmp_path):
    save_bundle(tmp_path / "b", model)
    assert read_bundle_config(tmp_path / "b")["parameters"] == model.parameter_counts()
