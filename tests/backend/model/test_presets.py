import json

import pytest
import torch

from motion_mamba.cli import main
from motion_mamba.model.config import ModelConfig
from motion_mamba.model.denoiser import MotionMambaDenoiser
from motion_mamba.model.presets import PRESET_NAMES, describe, get_preset, with_skeleton


@pytest.mark.parametrize("preset", ["paper", "demo", "test"])
def test_model_info_cli(preset, capsys):
    assert main(["model-info", preset]) == 0
    info = json.loads(capsys.readouterr().out)
    p = info["parameters"]
    assert p["total"] == p["vae"] + p["denoiser"] > 0
    n = get_preset(preset).denoiser.num_blocks
    assert info["htm_scans"] == [2 * (n - i) - 1 for i in range(n)] + [2 * i + 1 for i in range(n)]


def test_paper_reads_n11_as_five_plus_mixer_plus_five_and_literal_as_eleven_per_side():
    assert describe(get_preset("paper"))["htm_scans"] == [9, 7, 5, 3, 1, 1, 3, 5, 7, 9]
    literal = describe(get_preset("paper-literal"))["htm_scans"]
    assert len(literal) == 22 and literal[0] == 21 and literal[10] == 1 and sum(literal) == 242


def test_htm_blocks_hold_the_configured_number_of_isolated_scans():
    cfg = get_preset("test").denoiser
    den = MotionMambaDenoiser(cfg)
    blocks = list(den.encoder_blocks) + list(den.decoder_blocks)
    assert [b.htm.mixer.n_scans for b in blocks] == cfg.htm_scans


def test_demo_fits_the_shipping_budget():
    info = describe(get_preset("demo"))
    assert info["parameters"]["total"] * 4 <= 30 * 2**20  # float32 weights <= 30 MB
    assert get_preset("demo").text.encoder == "minilm"


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_baseline_has_the_same_budget(preset):
    mamba = describe(get_preset(preset))["parameters"]["denoiser"]
    base = get_preset(preset, arch="transformer")
    assert base.denoiser.arch == "transformer"
    assert abs(describe(base)["parameters"]["denoiser"] - mamba) <= 0.01 * mamba


def test_config_round_trips_through_json():
    cfg = with_skeleton(get_preset("demo"), "kit21")
    assert cfg.vae.nfeats == 251 and cfg.fps == 12.5
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_inconsistent_configs_name_the_field():
    d = get_preset("test").to_dict()
    d["denoiser"]["latent_dim"] = 48
    with pytest.raises(ValueError, match="denoiser latent"):
        ModelConfig.from_dict(d)
    d = get_preset("test").to_dict()
    d["vae"]["typo"] = 1
    with pytest.raises(ValueError, match=r"vae: unknown keys \['typo'\]"):
        ModelConfig.from_dict(d)
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("huge")


def test_presets_build_on_meta_without_memory():
    with torch.device("meta"):
        assert describe(get_preset("paper"))["parameters"]["total"] > 10_000_000


def test_a_unit_norm_text_embedding_varies_the_text_token_as_much_as_time_varies_the_time_token():
    """MiniLM's pooled embeddings are unit vectors; through MLD's ReLU -> Linear the text token barely changes from
    prompt to prompt (vs the time token from step to step) and the denoiser learned to read the prompt late.
    `text_norm` (the demo preset) puts the prompt's variation on the time token's scale or above."""
    from motion_mamba.model.layers import ConditionTokens

    torch.manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(64, 384) + 2.0, dim=-1)  # unit vectors sharing a component
    t = torch.randint(0, 1000, (64,))
    ratios = {}
    for text_norm in (False, True):
        with torch.no_grad():
            time_tok, text_tok = ConditionTokens(128, 384, text_norm)(t, text[:, None]).unbind(1)
        ratios[text_norm] = float(text_tok.std(0).mean() / time_tok.std(0).mean())  # across samples
    assert ratios[False] < 0.2 and ratios[True] > 1.0, ratios
    assert get_preset("demo").denoiser.text_norm and not get_preset("paper").denoiser.text_norm
