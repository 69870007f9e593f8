"""Batched caption encoding gives the same vectors as the encoders' one-prompt-at-a-time path."""

import pytest
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


def test_a_denoiser_refuses_a_cache_with_another_number_of_segments():
    from motion_mamba.model.motion_model import MotionModel
    from motion_mamba.model.presets import get_preset
    from motion_mamba.train.loop import StepRandom
    from motion_mamba.train.stages import DenoiserTask

    config = get_preset("test")  # text_segments = 2
    enc = build_text_encoder(config.text)
    with pytest.raises(ValueError, match="keeps 0 segments per caption, the denoiser reads 2"):
        DenoiserTask(MotionModel(config), TextCache(enc))
    task = DenoiserTask(MotionModel(config), TextCache(enc, segments=2))
    z0, text, null, _ = task.prepare((torch.zeros(3, 2, 32), ["a", "b c", "d e f g"]), "cpu",
                                     StepRandom.seeded(0, "cpu"))
    assert text.shape == (3, 3, 32) and null.shape == (3, 32)
