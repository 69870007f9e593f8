"""The official HumanML3D T2M evaluator (`EricGuo5513/text-to-motion`), converted once to safetensors.

The released files are torch pickles (`text_mot_match/model/finest.tar`) plus GloVe pickles (`our_vab_words.pkl`,
`our_vab_idx.pkl`) and `our_vab_data.npy`. Unpickling can execute code, so conversion happens once, only behind
`--trust-pickle`, and even then with torch's `weights_only=True` loader and an unpickler that refuses every global
(a list of words and a word->index dict need none). The result is a bundle like ours:

    OUT/model.safetensors   text_encoder.*, motion_encoder.*, movement_encoder.*, mean, std, word_vectors
    OUT/config.json         {"kind": "t2m-official-evaluator", "vocabulary": [...], ...}

and `load_evaluator(OUT)` serves it through the same `encode_text` / `encode_motion` interface as ours. Its text
side needs HumanML3D's "word/POS" tokens, which the dataset's text files carry (`Clip.tokens`).
Untested here: neither the weights nor HumanML3D are on this machine.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .evaluator import UNIT_LENGTH, MotionEncoderBiGRUCo, MovementConvEncoder, co_embedding_head

KIND = "t2m-official-evaluator"
MAX_TEXT_LEN = 20  # tokens, plus sos/eos
# utils/word_vectorizer.py: 15 coarse POS categories, the last five are "VIP" word lists
POS_ENUMERATOR = {"VERB": 0, "NOUN": 1, "DET": 2, "ADP": 3, "NUM": 4, "AUX": 5, "PRON": 6, "ADJ": 7, "ADV": 8,
                  "Loc_VIP": 9, "Body_VIP": 10, "Obj_VIP": 11, "Act_VIP": 12, "Desc_VIP": 13, "OTHER": 14}
VIP = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back", "backward",
                "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee", "shoulder",
                 "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball", "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance", "jump",
                "turn", "stumble", "dance", "stop", "sit", "lift", "lower", "raise", "wash", "stand", "kneel",
                "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin", "spread",
                "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad", "happily",
                 "angrily", "sadly"),
}


class TextEncoderBiGRUCo(nn.Module):
    """GloVe word vectors + Linear(POS one-hot) -> BiGRU -> co-embedding head (T2M `TextEncoderBiGRUCo`)."""

    def __init__(self, word_size: int = 300, pos_size: int = 15, hidden: int = 512, output: int = 512):
        super().__init__()
        self.pos_emb = nn.Linear(pos_size, word_size)
        self.input_emb = nn.Linear(word_size, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = co_embedding_head(2 * hidden, output)
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden))

    def forward(self, words: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.input_emb(words + self.pos_emb(pos))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.expand(-1, x.shape[0], -1).contiguous())
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class _NoGlobals(pickle.Unpickler):
    """Plain containers of str/int/float only: any class or function reference is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickle")


def _read_plain_pickle(path: Path):
    try:
        return _NoGlobals(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError) as e:
        raise ValueError(f"{path}: not a plain-data pickle ({e})") from None


def convert(checkpoint: Path, meta_dir: Path, glove_dir: Path, out: Path, trust_pickle: bool) -> Path:
    """finest.tar + meta/{mean,std}.npy + GloVe -> OUT bundle (safetensors + JSON)."""
    if not trust_pickle:
        raise ValueError("the official T2M files are Python pickles, which can run code when loaded; pass "
                         "--trust-pickle to convert them once (torch weights_only=True and a no-globals unpickler "
                         "are still used)")
    for f in (checkpoint, meta_dir / "mean.npy", meta_dir / "std.npy", glove_dir / "our_vab_data.npy",
              glove_dir / "our_vab_words.pkl", glove_dir / "our_vab_idx.pkl"):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: missing")
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    tensors = {}
    for part in ("text_encoder", "motion_encoder", "movement_encoder"):
        if part not in ckpt:
            raise ValueError(f"{checkpoint}: no {part!r} state dict (is this text_mot_match/model/finest.tar?)")
        tensors.update({f"{part}.{k}": v.float().contiguous() for k, v in ckpt[part].items()})
    vectors = np.load(glove_dir / "our_vab_data.npy", allow_pickle=False)
    words = _read_plain_pickle(glove_dir / "our_vab_words.pkl")
    index = _read_plain_pickle(glove_dir / "our_vab_idx.pkl")
    vocab = [None] * len(vectors)
    for w in words:
        vocab[index[w]] = w
    tensors["word_vectors"] = torch.from_numpy(np.asarray(vectors, np.float32))
    tensors["mean"] = torch.from_numpy(np.load(meta_dir / "mean.npy", allow_pickle=False).astype(np.float32))
    tensors["std"] = torch.from_numpy(np.load(meta_dir / "std.npy", allow_pickle=False).astype(np.float32))
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps({"kind": KIND, "source": str(checkpoint), "vocabulary": vocab}))
    return out


class T2MOfficialEvaluator:
    def __init__(self, folder: Path, device: str = "cpu"):
        t = load_file(str(folder / "model.safetensors"))
        doc = json.loads((folder / "config.json").read_text())
        self.name = "t2m-official"
        self.wants_tokens = True
        self.device = device
        self.vocab = {w: i for i, w in enumerate(doc["vocabulary"]) if w is not None}
        self.vectors = t.pop("word_vectors")
        self.mean, self.std = t.pop("mean").to(device), t.pop("std").to(device)
        nfeats = self.mean.shape[0]
        self.text = TextEncoderBiGRUCo()
        self.movement = MovementConvEncoder(nfeats - 4, 512, 512, dropout=0.2)
        self.motion = MotionEncoderBiGRUCo(512, 1024, 512)
        for name, module in (("text_encoder", self.text), ("movement_encoder", self.movement),
                             ("motion_encoder", self.motion)):
            module.load_state_dict({k[len(name) + 1:]: v for k, v in t.items() if k.startswith(name + ".")})
            module.to(device).eval()

    def _word(self, token: str) -> tuple[torch.Tensor, torch.Tensor]:
        word, _, pos = token.partition("/")
        one_hot = torch.zeros(len(POS_ENUMERATOR))
        if word in self.vocab:
            vip = next((k for k, words in VIP.items() if word in words), None)
            one_hot[POS_ENUMERATOR.get(vip or pos, POS_ENUMERATOR["OTHER"])] = 1
            return self.vectors[self.vocab[word]], one_hot
        one_hot[POS_ENUMERATOR["OTHER"]] = 1
        return self.vectors[self.vocab["unk"]], one_hot

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """`texts` are HumanML3D token strings ("a/DET man/NOUN walk/VERB ..."), as in the dataset's text files."""
        seqs = []
        for text in texts:
            tokens = text.split(" ")[:MAX_TEXT_LEN]
            seqs.append(["sos/OTHER"] + tokens + ["eos/OTHER"])
        lengths = torch.tensor([len(s) for s in seqs])
        words = torch.zeros(len(seqs), int(lengths.max()), self.vectors.shape[1])
        pos = torch.zeros(len(seqs), int(lengths.max()), len(POS_ENUMERATOR))
        for i, s in enumerate(seqs):
            for j, tok in enumerate(s):
                words[i, j], pos[i, j] = self._word(tok)
        return self.text(words.to(self.device), pos.to(self.device), lengths).cpu().numpy()

    @torch.no_grad()
    def encode_motion(self, features: np.ndarray | torch.Tensor, lengths: Sequence[int]) -> np.ndarray:
        x = (torch.as_tensor(np.asarray(features, np.float32), device=self.device) - self.mean) / self.std
        lens = torch.tensor([max(UNIT_LENGTH, int(n) // UNIT_LENGTH * UNIT_LENGTH) for n in lengths])
        h = self.movement(x[..., :-4])
        return self.motion(h, (lens // UNIT_LENGTH).clamp_min(1)).cpu().numpy()


def load_evaluator(folder: Path, device: str = "cpu"):
    """Our evaluator or a converted official one, by config.json's "kind"."""
    from .evaluator import TextMotionEvaluator

    cfg = Path(folder) / "config.json"
    if cfg.is_file():
        try:
            kind = json.loads(cfg.read_text()).get("kind")
        except (json.JSONDecodeError, AttributeError):
            kind = None
        if kind == KIND:
            return T2MOfficialEvaluator(Path(folder), device)
    return TextMotionEvaluator.load(Path(folder), device)
