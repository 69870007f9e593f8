"""Sequenced prompts: "a person walks forward, then sits down" read as the actions it names, one after another.

Only explicit sequence words split a prompt: "then", "after that", "afterwards", "next" (after a comma or a
semicolon: "walks next to a wall" is one action) and a full stop between sentences. "and" never splits: it also joins
actions done together ("raises an arm and waves"). A later part without a subject of its own gets `SUBJECT`, so
every part reads like a whole caption, as the model was trained on.
"""

from __future__ import annotations

import re

SUBJECT = "a person"
_SEQUENCE = re.compile(
    r"(?:[,;.]\s*|\s+)(?:and\s+)?(?:then|after\s+that|afterwards)\b,?"  # ", then" / " and then" / " after that,"
    r"|[,;.]\s*(?:and\s+)?next\b,?"  # "; next," (not "walks next to")
    r"|\.\s+(?=\S)",  # "A person walks. A person sits."
    re.IGNORECASE,
)
_HAS_SUBJECT = re.compile(r"(?:a|an|the|he|she|they|it|someone|somebody|one|person|man|woman)\b", re.IGNORECASE)


def split_sequence(prompt: str) -> list[str]:
    """The actions of `prompt` in order (the prompt itself when it names no sequence)."""
    parts = [p.strip(" ,;.") for p in _SEQUENCE.split(prompt.strip())]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return [prompt]
    return [parts[0]] + [p if _HAS_SUBJECT.match(p) else f"{SUBJECT} {p}" for p in parts[1:]]
