"""Sequenced prompts split at explicit sequence words only, each later part worded as a whole caption."""

import pytest

from motion_mamba.prompts import split_sequence


@pytest.mark.parametrize("prompt, parts", [
    ("a person walks forward, then sits down.", ["a person walks forward", "a person sits down"]),
    ("someone hops twice and then squats; next, waves",
     ["someone hops twice", "a person squats", "a person waves"]),
    ("a man jogs, after that he turns left and waves", ["a man jogs", "he turns left and waves"]),
    ("the figure bows, and afterwards claps", ["the figure bows", "a person claps"]),
    ("A person walks. Then she sits down.", ["A person walks", "she sits down"]),
    ("a person sits down then stands up", ["a person sits down", "a person stands up"]),
])
def test_splits_at_sequence_words(prompt, parts):
    assert split_sequence(prompt) == parts


@pytest.mark.parametrize("prompt", [
    "a person raises an arm and waves",  # "and" also joins actions done together
    "a man walks next to the wall",  # "next" as a preposition
    "a person waves.",
    "then walks",  # nothing before the sequence word
    "a person walks forward and back again",
])
def test_one_action_stays_whole(prompt):
    assert split_sequence(prompt) == [prompt]
