"""The shipped model's card and results table, written from the recipe's own numbers (nothing typed in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__

WALL = "wall"  # the stages report's entry for the recipe's wall-clock minutes (over every rerun that resumed it)
VARIANTS = ("(raw)", "(one pass)")  # suffixes of the rows that show a model without a part of its pipeline


def acceptance(results: list) -> list[tuple[str, bool, str]]:
    """The issue's quality bars on one held-out split: (check, passed, numbers).

    The FID bar measures what training did, so where the raw rows exist it compares the model's raw output with the
    raw output of the same model at initialisation: the clean-up is not trained, and through it even random weights
    come out human-shaped (docs/model.md *Run h*: FID at init 63.6 -> 18.8 when the clean-up got better), which
    would make every clean-up improvement a harder FID bar."""
    rows = {r.name: r for r in results}
    real = rows["Real"]
    mamba = _main_row(results)
    raw = f"{mamba.name} (raw)" in rows and f"{mamba.name} @ init (raw)" in rows
    trained, init = (rows[f"{mamba.name} (raw)"], rows[f"{mamba.name} @ init (raw)"]) if raw else (
        mamba, rows[f"{mamba.name} @ init"])
    r3, r3_real = mamba.summary["R@3"][0], real.summary["R@3"][0]
    fid, fid_init = trained.summary["FID"][0], init.summary["FID"][0]
    sk, sk_real = mamba.physical["skate_speed_cm_s"], real.physical["skate_speed_cm_s"]
    fid_check = "FID (raw) <= 10% of FID at initialisation (raw)" if raw else "FID <= 10% of FID at initialisation"
    return [
        ("R@3 >= 0.8 x real", r3 >= 0.8 * r3_real, f"{r3:.3f} vs 0.8 x {r3_real:.3f} = {0.8 * r3_real:.3f}"),
        (fid_check, fid <= 0.1 * fid_init, f"{fid:.3f} vs 0.1 x {fid_init:.3f}"),
        ("foot skating <= 1.5 x real", sk <= 1.5 * sk_real, f"{sk:.2f} vs 1.5 x {sk_real:.2f} cm/s"),
    ]


def _main_row(results: list):
    """Motion Mamba's row: the one generated row that is not a baseline, an initialisation or a variant."""
    return next(r for r in results if r.name != "Real" and "@ init" not in r.name and "baseline" not in r.name
                and not r.name.endswith(VARIANTS))


def cleanup_effect(evaluation: dict[str, Any]) -> str:
    """What the clean-up does to R@3 and FID on each held-out split (the cleaned row against its "(raw)" row), as a
    sentence for the card; empty without raw rows."""
    parts = []
    for split, v in evaluation["splits"].items():
        rows = {r.name: r for r in v["results"]}
        cleaned = _main_row(v["results"])
        raw = rows.get(f"{cleaned.name} (raw)")
        if raw is not None:
            d_r3 = cleaned.summary["R@3"][0] - raw.summary["R@3"][0]
            d_fid = cleaned.summary["FID"][0] - raw.summary["FID"][0]
            parts.append(f"R@3 {d_r3:+.3f}, FID {d_fid:+.2f} on {split.removeprefix('test:')}")
    return f"The clean-up changes {'; '.join(parts)} (each against the \"(raw)\" row)." if parts else ""


def ab_table(results: list) -> str:
    lines = ["| Denoiser | FID↓ | R@3↑ | s/sentence (CPU, batch 1) |", "|---|---|---|---|"]
    for r in results:
        if r.name == "Real" or "@ init" in r.name or r.name.endswith(VARIANTS):
            continue
        (fid, fci), (r3, rci) = r.summary["FID"], r.summary["R@3"]
        lines.append(f"| {r.name} | {fid:.3f}±{fci:.3f} | {r3:.3f}±{rci:.3f} | {r.seconds_per_sentence:.3f} |")
    return "\n".join(lines)


def _conditioning(doc: dict[str, Any]) -> str:
    k = doc["config"]["denoiser"].get("text_segments", 0)  # bundles from before text segments have none
    return "read as its pooled vector" + (f" plus {k} segment means (word order)" if k else "")


def _guidance(stages: dict[str, Any]) -> str:
    """How the recipe chose the guidance scale (train/guidance.py), or nothing for a run without that stage."""
    chosen = stages.get("guidance", {})
    if "denoiser" not in chosen:
        return f" ({chosen['skipped']}: the default)" if "skipped" in chosen else ""
    mm, base = chosen["denoiser"], chosen.get("baseline")
    scores = ", ".join(f"{s} {r:.3f}" for s, r in mm["R@3"].items())
    return (f", the best R@3 on the val split ({mm['clips']} clips, {mm['repeats']} repetitions; s: R@3 {scores})"
            + (f"; the baseline's, chosen the same way: {base['scale']:g}" if base else ""))


def write_model_card(work: Path, bundle: Path, evaluator_dir: Path, stages: dict[str, Any], evaluation: dict[str, Any],
                     clips: int, dry_run: bool, command: str) -> Path:
    from ..eval.table import markdown_table, physical_table

    doc = json.loads((bundle / "config.json").read_text())
    size_mb = (bundle / "model.safetensors").stat().st_size / 2**20
    settings = evaluation["settings"]
    results_md = []
    checks_md = []
    for split, v in evaluation["splits"].items():
        res = v["results"]
        results_md += [f"### {split} ({v['clips']} clips, {settings['repeats']} repetitions)", "",
                       markdown_table(res, ["s/sentence"]), "", physical_table(res), "",
                       "A/B (same VAE, same parameter budget, same steps):", "", ab_table(res), ""]
        for name, ok, numbers in acceptance(res):
            checks_md.append(f"| {split} | {name} | {'pass' if ok else 'FAIL'} | {numbers} |")
    results_text = "\n".join(results_md)
    (work / "results.md").write_text(results_text + "\n")
    stage_rows = "\n".join(f"| {k} | {v.get('steps', '–')} | {v.get('steps_per_s', '–')} | {v.get('minutes', '–')} |"
                           for k, v in stages.items() if k != WALL)
    total = float(stages[WALL]["minutes"])  # wall-clock, not the stages' sum: captions + evaluator run beside the VAE
    params = doc["parameters"]
    card = f"""# Motion Mamba — shipped model (`{doc['name']}`){' — DRY RUN, not for shipping' if dry_run else ''}

Produced by `{command}` (code {__version__});
every number below comes from that run (WORK/stages.json, WORK/eval.json).

## Model
- Preset `{doc['preset']}`: MLD-style motion VAE (latent {doc['config']['vae']['latent_size']}×{doc['config']['vae']['latent_dim']}) + Motion Mamba denoiser
  (HTM/BSM U-Net, {doc['config']['denoiser']['num_layers']} layers), text encoder `{doc['text_encoder']}` (frozen, offline), {_conditioning(doc)}.
- Parameters: VAE {params['vae']:,}, denoiser {params['denoiser']:,}, total {params['total']:,}; weights {size_mb:.1f} MB (safetensors, EMA).
- Sampling: DPM-Solver++ {doc['config']['diffusion']['fast_steps']} steps, classifier-free guidance {doc['config']['diffusion']['guidance_scale']:g}{_guidance(stages)}.
- Output: 22-joint SMPL skeleton, 20 fps, metres, Y up, facing +Z at frame 0; 1–9.8 s per clip; cleaned up by
  the pipeline (smoothed over time, rigid skeleton, floor, body pulled over its planted feet, planted feet held
  still, glides taken as steps: `postprocess.py`). Every
  generated row below has that clean-up, except those marked "(raw)": the model's decoded joints as they come,
  and its VAE's reconstruction of the real test clips (encode -> decode), the best FID and R-Precision a denoiser
  on this VAE could reach.
- Sequenced prompts ("..., then ...") are generated as a timeline of their parts, even shares of the clip,
  stitched (`prompts.py`, `timeline.py`), as the pipeline does for every user; the "(one pass)" row generates each
  caption whole, the model alone.

## Data
Procedural corpus (`motion-mamba data synth --clips {clips}`): captioned synthetic clips in the HumanML3D layout.
Test clips are held out in two ways, reported separately: *phrasing* (caption templates never seen in training) and
*composition* (action orders never seen in training). Not trained on HumanML3D or any motion capture.

## Training (2 CPU cores)
| stage | steps | steps/s | minutes |
|---|---|---|---|
{stage_rows}

Total: {total:.1f} minutes of wall-clock time (the captions and the evaluator run beside the VAE, half the cores
each; when the evaluator ends, the VAE takes all).

## Evaluation
Evaluator: our contrastive text–motion evaluator (`{evaluation['evaluator']}`), trained on the same train split; T2M
protocol (R-Precision in groups of 32, FID, MM-Dist, Diversity, MultiModality with {settings['mm_samples']}×{settings['mm_repeats']}
generations), {settings['repeats']} repetitions, mean ± 95% CI. Numbers are on this corpus and this evaluator: they are
not comparable with HumanML3D tables.

{results_text}
## Quality bars
| split | check | result | numbers |
|---|---|---|---|
{chr(10).join(checks_md)}

The FID bar judges training, so it compares raw outputs: the clean-up is not trained, and it makes even the
untrained model's output human-shaped (the cleaned "@ init" row against "@ init (raw)").

## Known limits
- Trained only on procedural motion: the vocabulary and motion repertoire are those of the generator
  (locomotion, turns, gestures, simple exercises); prompts outside it give the nearest known motion.
- Clips are at most 9.8 s (the VAE's 196 frames); no hands, fingers or facial motion; no object or scene contact.
- The evaluator is ours, trained on the same procedural data; FID/R-Precision measure fit to this corpus only.
  It barely notices how far a clip travels.
- The decoder's steps are short for how fast its body moves (raw, a planted foot slides tens of cm/s). The clean-up
  keeps planted feet still and lets the body travel only as far as the legs reach, so walks and runs cover less
  ground than the raw decode (measured in docs/model.md, *Run f*). Where the decoder glides the body on still legs,
  the clean-up turns the glide into steps of its own (a 0.8 m stride, 0.3 s swings): the feet move, but not as a
  trained walk would. {cleanup_effect(evaluation)}
- Times per sentence are CPU timings on this machine, batch 1, and vary with load.
"""
    path = work / "MODEL_CARD.md"
    path.write_text(card)
    return path
