"""Text embeddings for training and evaluation, computed once per caption in padded batches.

The frozen encoders in `model.text` encode one prompt per forward pass (right for a service); training sees tens
of thousands of captions, and one padded batch of 256 is ~30x faster per caption on a CPU than 256 single passes.
Batched results equal the single-prompt ones (masked mean pooling and segment means for MiniLM, CLIP's end-token
projection), which `tests/backend/train/test_text_cache.py` checks. Each caption keeps `1 + segments` vectors
(`TextEmbedding.condition`): the evaluator reads the pooled one, the denoisers all of them.
"""

from __future__ import annotations

import threading
from typing import Sequence

import torch

from ..model.text import TextEmbedding, segment_means

_ENCODE = threading.Lock()  # Hugging Face fast tokenizers fail ("Already borrowed") when two threads share one


class TextCache:
    def __init__(self, encoder: "TextEncoder", segments: int = 0, batch_size: int = 256):  # noqa: F821
        self.encoder = encoder
        self.segments = segments
        self.batch_size = batch_size
        self._cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def condition(self, captions: Sequence[str]) -> torch.Tensor:
        """(B, 1 + segments, dim) on the encoder's device. Thread-safe: the recipe evaluates in two threads."""
        with _ENCODE:
            missing = list(dict.fromkeys(c for c in captions if c not in self._cache))
            for i in range(0, len(missing), self.batch_size):
                chunk = missing[i:i + self.batch_size]
                for c, e in zip(chunk, batch_condition(self.encoder, chunk, self.segments)):
                    self._cache[c] = e
            return torch.stack([self._cache[c] for c in captions])

    def pooled(self, captions: Sequence[str]) -> torch.Tensor:
        """(B, dim): the pooled embeddings alone (what the evaluator reads)."""
        return self.condition(captions)[:, 0]


@torch.no_grad()
def batch_condition(encoder: "TextEncoder", prompts: list[str], segments: int) -> torch.Tensor:  # noqa: F821
    """One padded forward pass for the Hugging Face encoders; other encoders go through their own `encode`."""
    from ..model.text import CLIPTextEncoder, MiniLMTextEncoder

    if isinstance(encoder, (MiniLMTextEncoder, CLIPTextEncoder)):
        batch = encoder._tokenizer(prompts, padding=True, truncation=True, max_length=encoder.max_length,
                                   return_tensors="pt")
        batch = {k: v.to(encoder.device) for k, v in batch.items()}
        out = encoder._model(**batch)
        mask = batch["attention_mask"].bool()  # (B, L), padding after the real tokens
        tokens = out.last_hidden_state * mask[..., None]
        # MiniLM's pooling (mean over the real tokens, then Normalize) is the one-segment mean
        pooled = out.text_embeds if isinstance(encoder, CLIPTextEncoder) else segment_means(tokens, mask, 1)[:, 0]
        return TextEmbedding(pooled, tokens, mask).condition(segments)
    return encoder.encode(prompts).condition(segments)
