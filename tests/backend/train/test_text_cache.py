"""Batched caption encoding gives the same pooled embeddings as the encoders' one-prompt-at-a-time path."""

import torch

from motion_mamba.model.config import TextConfig
from motion_mamba.model.text import build_text_encoder
from motion_mamba.train.text_cache import PooledTextCache

PROMPTS = ["a person walks forward", "someone jumps twice and then sits down on the floor slowly", "", "wave"]


def test_minilm_batched_equals_single():
    enc = build_text_encoder(TextConfig(encoder="minilm", dim=384))
    cache = PooledTextCache(enc, batch_size=3)
    batched = cache.pooled(PROMPTS + PROMPTS[:1])
    single = enc.encode(PROMPTS + PROMPTS[:1]).pooled
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)


def test_tiny_encoder_goes_through_encode():
    enc = build_text_encoder(TextConfig(encoder="tiny", dim=16))
    torch.testing.assert_close(PooledTextCache(enc).pooled(PROMPTS), enc.encode(PROMPTS).pooled)
