"""Batched caption encoding gives the same vectors as the encoders' one-prompt-at-a-time path."""

import torch

from motion_mamba.model.config import TextConfig
from motion_mamba.model.text import build_text_encoder
from motion_mamba.train.text_cache import TextCache

PROMPTS = ["a person walks forward", "someone jumps twice and then sits down on the floor slowly", "", "wave"]


def test_minilm_batched_equals_single():
    enc = build_text_encoder(TextConfig(encoder="minilm", dim=384))
    cache = TextCache(enc, segments=4, batch_size=3)  # two padded batches, prompts of very different lengths
    batched = cache.condition(PROMPTS + PROMPTS[:1])
    single = enc.encode(PROMPTS + PROMPTS[:1]).condition(4)
    assert batched.shape == (5, 5, 384)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(cache.pooled(PROMPTS), enc.encode(PROMPTS).pooled, atol=1e-5, rtol=1e-4)


def test_tiny_encoder_goes_through_encode():
    enc = build_text_encoder(TextConfig(encoder="tiny", dim=16))
    torch.testing.assert_close(TextCache(enc, segments=2).condition(PROMPTS), enc.encode(PROMPTS).condition(2))
    torch.testing.assert_close(TextCache(enc).pooled(PROMPTS), enc.encode(PROMPTS).pooled)
