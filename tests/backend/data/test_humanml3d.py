"""The HumanML3D/KIT-ML loader on tiny datasets in the exact layout, written by the tests themselves."""

from pathlib import Path

import numpy as np
import pytest
import torch

from motion_mamba.data.humanml3d import HUMANML3D, KIT_ML, DatasetError, MotionTextDataset, collate, load_entries


def _write_dataset(root: Path, dim: int, lengths: dict[str, int], texts: dict[str, list[str]],
                   splits: dict[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    for cid, T in lengths.items():
        # feature value encodes (clip, frame) so windows can be traced back to their source frames
        m = rng.normal(size=(T, dim)).astype(np.float32)
        m[:, 0] = np.arange(T)
        m[:, 1] = int(cid)
        np.save(root / "new_joint_vecs" / f"{cid}.npy", m)
        (root / "texts" / f"{cid}.txt").write_text("\n".join(texts[cid]) + "\n")
    mean = rng.normal(size=dim).astype(np.float32)
    std = rng.uniform(0.5, 2.0, size=dim).astype(np.float32)
    np.save(root / "Mean.npy", mean)
    np.save(root / "Std.npy", std)
    for name in ("train", "val", "test"):
        (root / f"{name}.txt").write_text("".join(f"{i}\n" for i in splits.get(name, [])))
    return mean, std


@pytest.fixture
def hml(tmp_path):
    lengths = {"000001": 120, "000002": 30, "000003": 250, "000004": 199, "000005": 80}
    texts = {
        "000001": ["a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0",
                   "someone walks.#someone/PRON walk/VERB#0.0#0.0",
                   "the person waves.#the/DET person/NOUN wave/VERB#1.0#4.0"],  # frames 20..80: a sub-clip
        "000002": ["too short.#too/ADV short/ADJ#0.0#0.0"],
        "000003": ["too long.#too/ADV long/ADJ#0.0#0.0"],
        "000004": ["almost too long.#almost/ADV#0.0#0.0"],
        "000005": ["only a short sub-clip.#only/ADV#0.0#1.0"],  # 20 frames: dropped, clip has no other caption
    }
    root = tmp_path / "HumanML3D"
    mean, std = _write_dataset(root, 263, lengths, texts, {"train": list(lengths), "test": ["000001"]})
    return root, mean, std


def test_entries_follow_length_rules_and_subclips(hml):
    root, _, _ = hml
    entries = {e.id: e for e in load_entries(root, "train")}
    assert set(entries) == {"000001", "000001#2", "000004"}
    assert len(entries["000001"].captions) == 2
    sub = entries["000001#2"].motion
    assert len(sub) == 60 and sub[0, 0] == 20 and sub[-1, 0] == 79  # start/end seconds * 20 fps


def test_items_are_cropped_normalised_windows(hml):
    root, mean, std = hml
    ds = MotionTextDataset(root, "train", seed=1)
    raw = {e.id: e.motion for e in ds.entries}
    for _ in range(30):
        for i in range(len(ds)):
            item = ds[i]
            L = item["length"]
            assert L % 4 == 0 and 40 - 4 <= L <= 196 and item["motion"].shape == (L, 263)
            back = item["motion"] * std + mean
            src = raw[item["id"]]
            first = int(round(back[0, 0])) - int(round(src[0, 0]))
            np.testing.assert_allclose(back, src[first : first + L], atol=1e-4)
    whole = [e.id for e in ds.entries].index("000001")
    assert {ds[whole]["text"] for _ in range(40)} == {"a person walks forward.", "someone walks."}


def test_collate_pads_and_masks(hml):
    root, _, _ = hml
    ds = MotionTextDataset(root, "train", seed=0)
    batch = collate([ds[i] for i in range(len(ds))])
    B, T, D = batch["motion"].shape
    assert (B, D) == (3, 263) and T == int(batch["lengths"].max())
    assert batch["mask"].dtype == torch.bool and torch.equal(batch["mask"].sum(1), batch["lengths"])
    for k in range(B):
        assert torch.all(batch["motion"][k, batch["lengths"][k] :] == 0)
    assert len(batch["texts"]) == len(batch["tokens"]) == len(batch["ids"]) == 3


def test_kit_uses_251_dims_and_12_5_fps(tmp_path):
    texts = {"000007": ["a man jumps.#a/DET man/NOUN jump/VERB#0.0#0.0", "he runs.#he/PRON#2.0#6.0"]}
    root = tmp_path / "KIT-ML"
    _write_dataset(root, 251, {"000007": 100}, texts, {"train": ["000007"]})
    entries = {e.id: e for e in load_entries(root, "train", KIT_ML)}
    assert len(entries["000007#1"].motion) == 50  # 2 s..6 s at 12.5 fps
    item = MotionTextDataset(root, "train", spec="kit", seed=0)[0]
    assert item["motion"].shape[1] == 251
    with pytest.raises(DatasetError, match=r"Mean\.npy.*\(263,\)"):
        load_entries(root, "train", HUMANML3D)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: (r / "Mean.npy").unlink(), r"Mean\.npy: missing"),
        (lambda r: (r / "val.txt").unlink(), r"val\.txt: split file missing"),
        (lambda r: (r / "new_joint_vecs" / "000004.npy").unlink(), r"000004\.npy: listed in train\.txt but missing"),
        (lambda r: (r / "texts" / "000001.txt").write_text("no hashes here\n"), r"000001\.txt:1: expected"),
        (lambda r: np.save(r / "new_joint_vecs" / "000004.npy", np.zeros((60, 12))), r"000004\.npy: shape \(60, 12\)"),
        (lambda r: np.save(r / "Std.npy", np.zeros(263)), r"Std\.npy: contains zero"),
    ],
)
def test_partial_dataset_errors_name_the_file(hml, damage, message):
    root, _, _ = hml
    damage(root)
    split = "val" if "val" in message else "train"
    with pytest.raises(DatasetError, match=message):
        load_entries(root, split)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        MotionTextDataset(tmp_path / "nope")
