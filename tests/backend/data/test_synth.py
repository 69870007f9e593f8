"""The procedural corpus: determinism, captions, held-out splits, the written layout, physical plausibility."""

import csv
import json

import numpy as np
import pytest

from motion_mamba.data.humanml3d import MotionTextDataset
from motion_mamba.data.synth import captions as cap
from motion_mamba.data.synth.actions import FAMILIES
from motion_mamba.data.synth.compose import MAX_FRAMES, MIN_FRAMES
from motion_mamba.data.synth.corpus import HELD_OUT_PAIRS, generate, held_out_pair, make_clip
from motion_mamba.features import features_to_joints
from motion_mamba.metrics_physical import bone_length_error, physical_report, summarize

REQUIRED = {"walk", "jog", "run", "sneak", "walk_backwards", "side_step", "turn", "circle", "jump", "jump_forward",
            "hop", "wave", "raise_arms", "clap", "punch", "point", "reach_up", "throw", "kick", "squat", "lunge",
            "step_up", "bow", "spin", "sit", "crouch", "stretch", "idle"}


def test_families_and_grammar_cover_the_brief():
    assert REQUIRED <= set(FAMILIES) and len(FAMILIES) >= 25
    rng = np.random.default_rng(0)
    for name, fam in FAMILIES.items():
        assert len(cap.TEMPLATES[name]) >= 8 + cap.HELD_OUT_PER_FAMILY
        for _ in range(5):
            params = fam.sample(rng, False)
            json.dumps(params)  # parameters are plain JSON (meta.jsonl)
            for t in range(len(cap.TEMPLATES[name])):
                vp = cap.verb_phrase(name, t, params, "a person", rng)
                assert "{" not in vp and "  " not in vp, (name, t, vp)


def test_clips_are_deterministic_per_seed_and_index():
    a, b, c = make_clip(7, 3), make_clip(7, 3), make_clip(8, 3)
    np.testing.assert_array_equal(a.joints, b.joints)
    assert a.captions == b.captions and a.meta() == b.meta()
    assert c.captions != a.captions or not np.array_equal(c.joints, a.joints)


def test_three_distinct_captions_and_lengths():
    for i in range(40):
        clip = make_clip(1, i)
        assert len(set(clip.captions)) == 3, clip.captions
        assert MIN_FRAMES <= len(clip.joints) <= MAX_FRAMES
        assert 1 <= len(clip.actions) <= 3


def test_held_out_split_property():
    held_tpl = {f: set(cap.held_out_templates(f)) for f in FAMILIES}
    held_conn = set(cap.held_out_connectors())
    assert HELD_OUT_PAIRS and all(held_out_pair(a, b) for a, b in HELD_OUT_PAIRS)
    kinds = {}
    for i in range(400):
        clip = make_clip(0, i)
        fams = [a.family for a in clip.actions]
        pairs = list(zip(fams[:-1], fams[1:]))
        kinds[clip.kind] = kinds.get(clip.kind, 0) + 1
        used_tpl = [t in held_tpl[f] for g in clip.grammar for f, t in zip(fams, g["templates"])]
        used_conn = [c in held_conn for g in clip.grammar for c in g["connectors"]]
        if clip.split in ("train", "val"):
            assert not any(held_out_pair(*p) for p in pairs), (clip.id, fams)
            assert not any(used_tpl) and not any(used_conn)
        elif clip.kind == "phrasing":
            assert all(used_tpl) and all(used_conn) and not any(held_out_pair(*p) for p in pairs)
        else:
            assert clip.kind == "composition" and any(held_out_pair(*p) for p in pairs)
            assert not any(used_tpl) and not any(used_conn)
    assert kinds.get("phrasing", 0) > 10 and kinds.get("composition", 0) > 10 and kinds["train"] > 250


def test_physical_plausibility_over_500_clips(capsys):
    """Numbers for the record (printed past pytest's capture); bounds: skating < 2 cm/s, penetration <= 1 cm."""
    reports, worst_bone = [], 0.0
    for i in range(500):
        joints = make_clip(11, i).joints.astype(np.float64)
        reports.append(physical_report(joints, 20.0))
        worst_bone = max(worst_bone, bone_length_error(joints, reference="standard"))
    s = summarize(reports)
    with capsys.disabled():
        print("\nphysical checks over 500 synthetic clips:", json.dumps({k: round(v, 4) for k, v in s.items()}),
              f"bone error vs standard {worst_bone * 1000:.4f} mm")
    assert s["skate_speed_cm_s"] < 2.0
    assert s["penetration_max_cm"] <= 1.0
    assert worst_bone < 1e-3 and s["bone_error_max_mm"] < 1.0
    assert s["jerk_mean"] < 150.0 and s["jerk_max"] < 8000.0  # no pops; a 0.5 m one-frame jump is ~12000
    assert sum(r.contact_steps for r in reports) > 10000  # the feet do touch the floor


def test_generate_writes_a_loadable_humanml3d_layout(tmp_path):
    out = tmp_path / "synth"
    summary = generate(out, 24, seed=3, workers=1, progress=False)
    for name in ("Mean.npy", "Std.npy", "train.txt", "val.txt", "test.txt", "meta.jsonl", "test_heldout.csv"):
        assert (out / name).is_file()
    ids = [m["id"] for m in map(json.loads, (out / "meta.jsonl").read_text().splitlines())]
    assert len(ids) == 24 and summary["train"] + summary["val"] + summary["test"] == 24
    for cid in ids:
        joints = np.load(out / "new_joints" / f"{cid}.npy")
        feats = np.load(out / "new_joint_vecs" / f"{cid}.npy")
        assert joints.shape[1:] == (22, 3) and feats.shape == (len(joints) - 1, 263)
        np.testing.assert_allclose(features_to_joints(feats), joints[:-1], atol=2e-3)
        lines = (out / "texts" / f"{cid}.txt").read_text().splitlines()
        assert len(lines) == 3 and all(ln.endswith("#0.0#0.0") and ln.count("#") == 3 for ln in lines)
    with open(out / "test_heldout.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["id"] for r in rows) == (out / "test.txt").read_text().split()
    assert {r["kind"] for r in rows} <= {"phrasing", "composition"}
    assert np.load(out / "Std.npy").min() > 0
    ds = MotionTextDataset(out, "train", seed=0)
    assert len(ds) == summary["train"]
    # the same clip comes out of a 2-worker run byte for byte
    out2 = tmp_path / "synth2"
    generate(out2, 24, seed=3, workers=2, progress=False)
    for cid in ids[:5]:
        assert (out / "new_joint_vecs" / f"{cid}.npy").read_bytes() == (out2 / "new_joint_vecs" / f"{cid}.npy").read_bytes()
    with pytest.raises(ValueError, match="exists and is not empty"):
        generate(out, 2, seed=3, workers=1, progress=False)
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # nothing half-written left behind
