"""`motion-mamba convert-t2m-evaluator`: turn the official HumanML3D T2M evaluator (torch/GloVe pickles) into a
safetensors + JSON bundle once, so `motion-mamba eval --evaluator OUT --data HUMANML3D` never unpickles anything.

    motion-mamba convert-t2m-evaluator --checkpoint checkpoints/t2m/text_mot_match/model/finest.tar \\
        --meta checkpoints/t2m/Comp_v6_KLD01/meta --glove glove --out t2m-evaluator --trust-pickle
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("convert-t2m-evaluator", help="convert the official T2M evaluator to safetensors",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path, help="text_mot_match/model/finest.tar")
    p.add_argument("--meta", required=True, type=Path, help="folder with the evaluator's mean.npy and std.npy")
    p.add_argument("--glove", required=True, type=Path, help="folder with our_vab_data.npy, our_vab_words.pkl, "
                   "our_vab_idx.pkl")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--trust-pickle", action="store_true", help="required: the inputs are pickles, which can run code "
                   "when loaded; only convert files from a source you trust")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..eval.t2m_official import convert

    out = convert(args.checkpoint, args.meta, args.glove, args.out, args.trust_pickle)
    print(f"wrote {out}; use it with: motion-mamba eval MODEL --data HUMANML3D --evaluator {out}")
    return 0
