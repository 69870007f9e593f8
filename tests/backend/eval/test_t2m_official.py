"""Conversion of the official T2M evaluator, exercised on stand-in files of the released shapes (the real weights
and HumanML3D are not available here): pickles only behind --trust-pickle, no pickled code ever loaded."""

import pickle

import numpy as np
import pytest
import torch

from motion_mamba.eval.evaluator import MotionEncoderBiGRUCo, MovementConvEncoder
from motion_mamba.eval.t2m_official import T2MOfficialEvaluator, TextEncoderBiGRUCo, convert, load_evaluator


@pytest.fixture
def official_files(tmp_path):
    torch.manual_seed(0)
    ckpt = {"text_encoder": TextEncoderBiGRUCo().state_dict(),
            "movement_encoder": MovementConvEncoder(259, 512, 512, 0.2).state_dict(),
            "motion_encoder": MotionEncoderBiGRUCo(512, 1024, 512).state_dict(), "epoch": 7}
    torch.save(ckpt, tmp_path / "finest.tar")
    (tmp_path / "meta").mkdir()
    np.save(tmp_path / "meta" / "mean.npy", np.zeros(263, np.float32))
    np.save(tmp_path / "meta" / "std.npy", np.ones(263, np.float32))
    glove = tmp_path / "glove"
    glove.mkdir()
    words = ["unk", "a", "man", "walk", "forward", "sos", "eos"]
    np.save(glove / "our_vab_data.npy", np.random.default_rng(0).normal(size=(len(words), 300)).astype(np.float32))
    (glove / "our_vab_words.pkl").write_bytes(pickle.dumps(words))
    (glove / "our_vab_idx.pkl").write_bytes(pickle.dumps({w: i for i, w in enumerate(words)}))
    return tmp_path


def test_convert_needs_consent_and_loads_through_the_common_interface(official_files, tmp_path):
    args = (official_files / "finest.tar", official_files / "meta", official_files / "glove", tmp_path / "out")
    with pytest.raises(ValueError, match="--trust-pickle"):
        convert(*args, trust_pickle=False)
    out = convert(*args, trust_pickle=True)
    ev = load_evaluator(out)
    assert isinstance(ev, T2MOfficialEvaluator) and ev.wants_tokens
    t = ev.encode_text(["a/DET man/NOUN walk/VERB forward/ADV", "a/DET zebra/NOUN"])
    m = ev.encode_motion(np.random.default_rng(1).normal(size=(2, 40, 263)), [40, 33])
    assert t.shape == (2, 512) and m.shape == (2, 512) and np.isfinite(t).all() and np.isfinite(m).all()
    # same weights as the source modules: the motion embedding matches a direct forward pass
    ref = MotionEncoderBiGRUCo(512, 1024, 512)
    ref.load_state_dict(torch.load(official_files / "finest.tar", weights_only=True)["motion_encoder"])
    assert torch.equal(ev.motion.gru.weight_hh_l0, ref.gru.weight_hh_l0)


def test_pickles_with_code_are_refused(official_files, tmp_path):
    (official_files / "glove" / "our_vab_words.pkl").write_bytes(pickle.dumps([np.float32(1.0)]))  # a global ref
    with pytest.raises(ValueError, match="not a plain-data pickle"):
        convert(official_files / "finest.tar", official_files / "meta", official_files / "glove", tmp_path / "o",
                trust_pickle=True)
