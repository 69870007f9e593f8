"""Every training stage draws from its loop's own generators: another loop in another thread (the shipped recipe
trains the VAE beside the evaluator) reseeding torch's and numpy's process-wide RNGs changes nothing."""

import dataclasses

import numpy as np
import pytest
import torch
from train_fixtures import write_tiny_corpus

from motion_mamba.eval.evaluator import EvaluatorConfig, EvaluatorTask, TextMotionEvaluator, evaluator_statistics
from motion_mamba.model.motion_model import MotionModel
from motion_mamba.model.presets import get_preset
from motion_mamba.model.text import build_text_encoder
from motion_mamba.train.config import TrainConfig
from motion_mamba.train.data import load_split
from motion_mamba.train.loop import train
from motion_mamba.train.stages import DenoiserTask, VAETask, encode_latents
from motion_mamba.train.text_cache import TextCache


class Meddler:
    """A dataset that, like a second training thread, reseeds the process-wide generators between the loop's
    per-step seeding and the task's draws."""

    def __init__(self, items):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        torch.manual_seed(1234 + i)
        np.random.seed(1234 + i)
        return self.items[i]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return load_split(write_tiny_corpus(tmp_path_factory.mktemp("corpus")), "train")


def _model(clips) -> MotionModel:
    config = get_preset("test")
    config = dataclasses.replace(config, vae=dataclasses.replace(config.vae, max_frames=40))  # clips get cropped
    torch.manual_seed(0)
    model = MotionModel(config)
    model.set_statistics(feature_mean=clips.mean, feature_std=clips.std)
    return model


def _task(stage: str, clips):
    if stage == "vae":
        return VAETask(_model(clips)), clips
    if stage == "denoiser":
        model = _model(clips)
        text = TextCache(build_text_encoder(model.config.text), model.config.denoiser.text_segments)
        return DenoiserTask(model, text), encode_latents(model, clips, "cpu")
    cfg = EvaluatorConfig(text_encoder="tiny", text_dim=32, movement_dim=32, motion_hidden=32, text_hidden=32,
                          embed_dim=16, dropout=0.0)
    torch.manual_seed(0)
    ev = TextMotionEvaluator(cfg, *evaluator_statistics(clips.mean, clips.std, cfg.skeleton))
    return EvaluatorTask(ev), clips


@pytest.mark.parametrize("stage", ["vae", "denoiser", "evaluator"])
def test_a_stage_draws_nothing_from_the_process_wide_generators(stage, clips, tmp_path):
    cfg = TrainConfig(steps=3, batch_size=4, lr=1e-3, ckpt_every=3, val_every=0, ema_decay=0.0, warmup_steps=0)
    weights = []
    for name, wrap in (("alone", lambda d: d), ("meddled", Meddler)):
        task, data = _task(stage, clips)
        train(task, wrap(data), None, cfg, tmp_path / name, {"stage": stage}, progress=False)
        weights.append(task.module.state_dict())
    for key, value in weights[0].items():
        torch.testing.assert_close(weights[1][key], value, rtol=0, atol=0, msg=key)
