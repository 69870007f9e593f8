"""A text-motion evaluator in the style of the HumanML3D T2M evaluator, trained contrastively on the training split.

Motion side, as `EricGuo5513/text-to-motion` `networks/modules.py`: features without the 4 foot-contact dims,
normalised with the evaluator's own Mean/Std (root and contact groups' std divided by `feat_bias` 5, as
`data/dataset.py`), `MovementConvEncoder` (two Conv1d k4 s2: time / 4) and `MotionEncoderBiGRUCo` (BiGRU over the
m_len // 4 steps, last hidden states -> Linear-LayerNorm-LeakyReLU-Linear). Text side: instead of GloVe + POS
BiGRU, the frozen sentence encoder's pooled embedding through the same output head (the issue allows it; no
GloVe or spaCy is available offline). Loss: Hadsell's contrastive loss with T2M's margin 10, positives pulled
together and every other clip of the batch (not only one shifted one) pushed beyond the margin; pairs whose
captions are identical are not treated as negatives.

Anything with `encode_text(texts) -> (N, D)` and `encode_motion(features, lengths) -> (N, D)` (raw dataset
features, not normalised) plugs into the metrics runner; `eval.t2m_official` adapts the released T2M weights.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..train.data import pick_caption
from ..train.loop import StepRandom, Task

UNIT_LENGTH = 4  # T2M crops lengths to multiples of 4; the movement encoder downsamples time by 4
FEAT_BIAS = 5.0  # T2M `feat_bias`: root and foot-contact std divided by this, so they weigh more


class Evaluator(Protocol):
    """What the metrics runner needs from an evaluator (ours or the official T2M one)."""

    name: str

    def encode_text(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_motion(self, features: np.ndarray | torch.Tensor, lengths: Sequence[int]) -> np.ndarray: ...


@dataclass
class EvaluatorConfig:
    skeleton: str = "smpl22"
    nfeats: int = 263
    text_encoder: str = "minilm"  # a model.text encoder id: the frozen sentence encoder
    text_dim: int = 384
    movement_dim: int = 512  # T2M: dim_movement_enc_hidden 512, dim_movement_latent 512
    motion_hidden: int = 1024  # T2M: dim_motion_hidden 1024
    text_hidden: int = 512  # T2M: dim_text_hidden 512
    embed_dim: int = 512  # T2M: dim_coemb_hidden 512
    margin: float = 10.0  # T2M: negative_margin
    dropout: float = 0.2

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvaluatorConfig":
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"evaluator config: unknown keys {unknown}")
        return cls(**data)


class MovementConvEncoder(nn.Module):
    """(B, T, F) -> (B, T // 4, out): two strided convolutions over time (T2M `MovementConvEncoder`)."""

    def __init__(self, input_size: int, hidden: int, output: int, dropout: float):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden, 4, 2, 1), nn.Dropout(dropout), nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, output, 4, 2, 1), nn.Dropout(dropout), nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(output, output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(x.transpose(1, 2)).transpose(1, 2))


def co_embedding_head(hidden: int, output: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, output))


class MotionEncoderBiGRUCo(nn.Module):
    """(B, T', F) + lengths -> (B, out): BiGRU final states of both directions -> head (T2M `MotionEncoderBiGRUCo`)."""

    def __init__(self, input_size: int, hidden: int, output: int):
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = co_embedding_head(2 * hidden, output)
        self.hidden = nn.Parameter(torch.randn(2, 1, hidden) * 0.02)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.input_emb(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.expand(-1, x.shape[0], -1).contiguous())  # (2, B, H)
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class TextHead(nn.Module):
    """Frozen sentence embedding (B, text_dim) -> co-embedding (B, out)."""

    def __init__(self, text_dim: int, hidden: int, output: int):
        super().__init__()
        self.input_emb = nn.Linear(text_dim, hidden)
        self.output_net = co_embedding_head(hidden, output)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.output_net(F.leaky_relu(self.input_emb(pooled), 0.2))


class EvaluatorNet(nn.Module):
    """The trainable part; forward((motion, lengths, text, same_caption)) -> (contrastive loss, logs)."""

    def __init__(self, c: EvaluatorConfig):
        super().__init__()
        self.config = c
        self.movement = MovementConvEncoder(c.nfeats - 4, c.movement_dim, c.movement_dim, c.dropout)
        self.motion = MotionEncoderBiGRUCo(c.movement_dim, c.motion_hidden, c.embed_dim)
        self.text = TextHead(c.text_dim, c.text_hidden, c.embed_dim)

    def embed_motion(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (B, T, nfeats) evaluator-normalised; lengths multiples of 4 -> (B, embed_dim)."""
        h = self.movement(x[..., :-4])  # drop foot contacts, as T2M
        return self.motion(h, (lengths // UNIT_LENGTH).clamp_min(1))

    def forward(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        motion, lengths, pooled, same = batch
        m = self.embed_motion(motion, lengths)  # (B, D)
        t = self.text(pooled)  # (B, D)
        dist = torch.cdist(t, m)  # (B, B) text i to motion j
        pos = dist.diagonal().pow(2).mean()
        neg_mask = ~same  # same caption (incl. the diagonal): not a negative
        neg = (F.relu(self.config.margin - dist) ** 2)[neg_mask].mean() if neg_mask.any() else dist.new_zeros(())
        with torch.no_grad():
            acc = (dist.argmin(1) == torch.arange(len(dist), device=dist.device)).float().mean()
        return pos + neg, {"pos": pos.detach(), "neg": neg.detach(), "top1": acc}


def evaluator_statistics(mean: np.ndarray, std: np.ndarray, skeleton: str) -> tuple[np.ndarray, np.ndarray]:
    """T2M evaluator Mean/Std from the dataset's: root and contact groups' std divided by feat_bias."""
    from ..features import feature_slices
    from ..skeleton import get_skeleton

    skel = get_skeleton(skeleton)
    if np.shape(mean) != (skel.feature_dim,) or np.shape(std) != (skel.feature_dim,):
        raise ValueError(f"dataset Mean/Std must be ({skel.feature_dim},) for {skel.name}, got {np.shape(mean)}")
    std = np.array(std, dtype=np.float64)
    s = feature_slices(skel)
    for group in ("rot_vel", "lin_vel", "root_y", "contacts"):
        std[s[group]] /= FEAT_BIAS
    return np.asarray(mean, np.float32), np.maximum(std, 1e-6).astype(np.float32)


def crop_to_unit(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """T2M's evaluation crop: length to a multiple of 4 (one unit shorter with probability 1/3), random start."""
    n = len(features)
    units = n // UNIT_LENGTH
    if units > 1 and rng.random() < 1 / 3:  # T2M: coin2 = choice(['single', 'single', 'double'])
        units -= 1
    m = max(units, 1) * UNIT_LENGTH
    if m > n:  # clip shorter than one unit: pad by repeating the last frame
        return np.concatenate([features, np.repeat(features[-1:], m - n, axis=0)])
    start = int(rng.integers(0, n - m + 1))
    return features[start:start + m]


class TextMotionEvaluator:
    """Our trained evaluator: normalisation statistics + `EvaluatorNet` + the frozen sentence encoder."""

    def __init__(self, config: EvaluatorConfig, mean: np.ndarray, std: np.ndarray, device: str = "cpu",
                 text: "TextCache | None" = None):  # noqa: F821
        from ..model.config import TextConfig
        from ..model.text import build_text_encoder
        from ..train.text_cache import TextCache

        self.config = config
        self.name = f"ours-{config.text_encoder}"
        self.device = device
        self.net = EvaluatorNet(config).to(device)
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=device)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=device)
        if text is None or (text.encoder.name, text.encoder.dim) != (config.text_encoder, config.text_dim):
            text = TextCache(build_text_encoder(TextConfig(encoder=config.text_encoder, dim=config.text_dim), device))
        self.text = text

    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def pooled_text(self, texts: Sequence[str]) -> torch.Tensor:
        return self.text.pooled(list(texts)).to(self.device)

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        self.net.eval()
        out = [self.net.text(self.pooled_text(texts[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
        return torch.cat(out).cpu().numpy()

    @torch.no_grad()
    def encode_motion(self, features: np.ndarray | torch.Tensor, lengths: Sequence[int],
                      batch_size: int = 256) -> np.ndarray:
        """features: (N, T, nfeats) raw (dataset units, zero-padded); lengths are cropped down to multiples of 4."""
        self.net.eval()
        x = torch.as_tensor(np.asarray(features, dtype=np.float32), device=self.device)
        if x.ndim != 3 or x.shape[-1] != self.config.nfeats:
            raise ValueError(f"motion features must be (N, T, {self.config.nfeats}), got {tuple(x.shape)}")
        lens = torch.as_tensor([max(UNIT_LENGTH, int(n) // UNIT_LENGTH * UNIT_LENGTH) for n in lengths])
        out = []
        for i in range(0, len(x), batch_size):
            out.append(self.net.embed_motion(self.normalize(x[i:i + batch_size]), lens[i:i + batch_size]))
        return torch.cat(out).cpu().numpy()

    def save(self, folder: Path, extra: dict[str, Any] | None = None) -> None:
        """A bundle like the model's: model.safetensors (weights + statistics) + config.json, written atomically."""
        import os
        import shutil

        folder = Path(folder)
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        tensors.update(mean=self.mean.cpu(), std=self.std.cpu())
        save_file(tensors, str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps({"kind": "text-motion-evaluator", "evaluator": asdict(self.config),
                                                     **(extra or {})}, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)

    @classmethod
    def load(cls, folder: Path, device: str = "cpu") -> "TextMotionEvaluator":
        folder = Path(folder)
        cfg_path, weights = folder / "config.json", folder / "model.safetensors"
        for f in (cfg_path, weights):
            if not f.is_file():
                raise FileNotFoundError(f"{f}: missing; train an evaluator with `motion-mamba train evaluator`")
        try:
            meta = json.loads(cfg_path.read_text())
            config = EvaluatorConfig.from_dict(meta["evaluator"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{cfg_path}: not an evaluator config ({e})") from None
        tensors = load_file(str(weights))
        ev = cls(config, tensors.pop("mean").numpy(), tensors.pop("std").numpy(), device)
        try:
            ev.net.load_state_dict({k.removeprefix("net."): v for k, v in tensors.items()})
        except RuntimeError as e:
            raise ValueError(f"{weights}: weights do not match {cfg_path} ({e})") from None
        return ev


class EvaluatorTask(Task):
    """Contrastive training of `EvaluatorNet` on (features, caption) items, through `train.loop.train`."""

    def __init__(self, evaluator: TextMotionEvaluator):
        self.evaluator = evaluator
        self.module = evaluator.net

    def collate(self, items: list[tuple[np.ndarray, Sequence[str]]], rand: StepRandom
                ) -> tuple[list[np.ndarray], list[str]]:
        crops = [crop_to_unit(np.asarray(f, dtype=np.float32), rand.numpy) for f, _ in items]
        return crops, [pick_caption(c, rand.numpy) for _, c in items]

    def prepare(self, batch: tuple[list[np.ndarray], list[str]], device: str, rand: StepRandom
                ) -> tuple[torch.Tensor, ...]:
        from ..train.stages import pad_batch

        crops, captions = batch
        x, lengths = pad_batch(crops, device)
        x = self.evaluator.normalize(x) * (torch.arange(x.shape[1], device=device)[None, :, None]
                                           < lengths[:, None, None])
        same = torch.tensor([[a == b for b in captions] for a in captions], device=device)
        return x, lengths, self.evaluator.pooled_text(captions), same
