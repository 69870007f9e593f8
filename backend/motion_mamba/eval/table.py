"""Results as the paper's Table 1: one row per method, real data first, "mean±CI" cells; also JSON."""

from __future__ import annotations

from typing import Any, Sequence

from .runner import MethodResult

COLUMNS = [("R@1", "R@1↑"), ("R@2", "R@2↑"), ("R@3", "R@3↑"), ("FID", "FID↓"), ("MM-Dist", "MM-Dist↓"),
           ("Diversity", "Diversity→"), ("MModality", "MModality↑")]


def _cell(summary: dict[str, tuple[float, float]], key: str) -> str:
    if key not in summary:
        return "–"
    mean, ci = summary[key]
    return f"{mean:.3f}±{ci:.3f}"


def markdown_table(results: Sequence[MethodResult], extra_columns: Sequence[str] = ()) -> str:
    """`extra_columns` may hold "s/sentence" (AITS-style time at batch 1) and physical metrics by name."""
    head = ["Method"] + [label for _, label in COLUMNS] + list(extra_columns)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.name] + [_cell(r.summary, key) for key, _ in COLUMNS]
        for col in extra_columns:
            if col == "s/sentence":
                cells.append("–" if r.seconds_per_sentence is None else f"{r.seconds_per_sentence:.3f}")
            else:
                cells.append(_cell(r.summary, col))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


PHYSICAL_COLUMNS = [("skate_speed_cm_s", "foot skate cm/s↓"), ("penetration_mean_cm", "penetration cm↓"),
                    ("jerk_mean", "jerk m/s³↓"), ("bone_error_max_mm", "bone err mm↓")]


def physical_table(results: Sequence[MethodResult]) -> str:
    """Physical plausibility (no evaluator involved), on the first repetition's clips."""
    head = ["Method"] + [label for _, label in PHYSICAL_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.name] + [f"{r.physical[k]:.3f}" if k in r.physical else "–" for k, _ in PHYSICAL_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_json(results: Sequence[MethodResult]) -> list[dict[str, Any]]:
    return [{"method": r.name, "metrics": {k: {"mean": m, "ci95": c} for k, (m, c) in r.summary.items()},
             "seconds_per_sentence": r.seconds_per_sentence, "physical": r.physical, "repetitions": r.repetitions}
            for r in results]
