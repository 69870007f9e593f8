"""Caption grammar: subjects x verb-phrase templates per action family x connectors, with synonyms in slots.

Every family has at least 10 verb-phrase templates; the last two of each family and the last two connectors
are *held out*: they only ever appear in the test split's "held-out phrasing" clips, so evaluation measures
phrasings the model never saw. Captions come out lower-case like HumanML3D's, with HumanML3D-style
`word/POS` tokens from a small rule-based tagger (the grammar's vocabulary is closed, so rules suffice).
"""

from __future__ import annotations

import re

import numpy as np

HELD_OUT_PER_FAMILY = 2

SUBJECTS = ["a person", "someone", "a man", "the figure", "a woman", "the person", "somebody", "a human",
            "the man", "a character"]
# {a} and {b} are consecutive verb phrases; the last two are held out
CONNECTORS = ["{a}, then {b}", "{a} and then {b}", "{a}, after that {b}", "{a} and {b}", "{a}, and then {b}",
              "{a}, then {b}", "{a}; next, {b}", "{a}, and afterwards {b}"]
HELD_OUT_CONNECTORS = 2

_SPEED = {"slowly": [" slowly", " at a slow pace", " leisurely"], "quickly": [" quickly", " briskly", " fast"],
          "normal": ["", "", ""]}
_TIMES = {1: ["once", "one time"], 2: ["twice", "two times"], 3: ["three times", "3 times"], 4: ["four times"],
          5: ["five times"], 6: ["six times"]}
_NUM = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

TEMPLATES: dict[str, list[str]] = {
    "walk": ["walks forward{spd}", "walks straight ahead{spd}", "strolls forward{spd}", "is walking forward{spd}",
             "takes a walk forward{spd}", "moves forward at a walking pace", "walks ahead in a straight line{spd}",
             "steps forward several times{spd}", "ambles ahead{spd}", "paces forward{spd}"],
    "jog": ["jogs forward{spd}", "runs slowly forward", "jogs ahead{spd}", "does a light jog forward",
            "is jogging forward{spd}", "jogs in a straight line{spd}", "jogs a short distance forward",
            "runs at an easy pace", "trots forward{spd}", "goes for a short jog forward"],
    "run": ["runs forward{spd}", "sprints forward", "runs straight ahead{spd}", "dashes forward",
            "is running forward{spd}", "runs fast in a straight line", "races ahead", "runs ahead{spd}",
            "breaks into a run forward", "rushes forward at a run"],
    "sneak": ["sneaks forward{spd}", "tiptoes forward", "creeps forward quietly", "walks forward stealthily",
              "sneaks ahead in a crouch", "moves forward carefully in a crouch", "creeps ahead{spd}",
              "sneaks forward like a thief", "prowls forward", "stalks forward crouching"],
    "walk_backwards": ["walks backwards{spd}", "walks backward{spd}", "steps backwards", "moves backward{spd}",
                       "backs up{spd}", "takes steps backwards", "walks in reverse", "retreats backwards",
                       "backs away{spd}", "walks back without turning around"],
    "side_step": ["side steps to the {dir}", "steps sideways to the {dir}", "shuffles to the {dir}",
                  "moves sideways to the {dir}", "takes {n} steps to the {dir}", "sidesteps {dir}",
                  "steps to the {dir} {n} times", "slides to the {dir} with side steps", "strafes to the {dir}",
                  "walks sideways toward the {dir}"],
    "turn": ["turns {ang} to the {dir}", "turns to the {dir} in place", "rotates {ang} to the {dir}",
             "pivots {ang} to the {dir}", "turns {dir} {ang}", "turns on the spot to the {dir}",
             "turns {ang} {dir}", "does a {deg} degree turn to the {dir}", "swivels {ang} to the {dir}",
             "turns {dir}ward {ang}"],
    "circle": ["walks in {path} to the {dir}", "walks along {path} to the {dir}", "follows {path} to the {dir}",
               "walks {dir} in {path}", "walks in {path} turning {dir}", "walks around in {path} to the {dir}",
               "strolls in {path} to the {dir}", "walks forward in {path}, curving {dir}",
               "makes {path} to the {dir} while walking", "traces {path} on foot to the {dir}"],
    "jump": ["jumps {times}", "jumps up and down {times}", "jumps in place {times}", "jumps{hi} {times}",
             "does {njumps} in place", "leaps up {times}", "jumps straight up {times}", "jumps on the spot {times}",
             "springs into the air {times}", "bounces up {times} with both feet"],
    "jump_forward": ["jumps forward {times}", "leaps forward {times}", "jumps ahead {times}",
                     "jumps forward with both feet {times}", "does {njumps} forward", "bounds forward {times}",
                     "jumps{hi} forward {times}", "takes a jump forward {times}", "long jumps forward {times}",
                     "leaps ahead {times}"],
    "hop": ["hops on the {leg} leg {times}", "hops on one leg", "hops on the {leg} foot {times}",
            "jumps on the {leg} leg {times}", "balances on the {leg} leg and hops", "hops {times} on the {leg} foot",
            "does {nhops} on the {leg} leg", "lifts the {other} leg and hops on the {leg} one",
            "hops up and down on the {leg} leg", "jumps on one foot {times}"],
    "wave": ["waves {with_hand}", "waves {hand}", "waves hello {with_hand}", "raises {hand} and waves {times}",
             "waves {times} {with_hand}", "waves {hand} {amp}", "greets someone by waving {hand}",
             "lifts {arm} and waves", "waves goodbye {with_hand}", "gives a wave {with_hand}"],
    "raise_arms": ["raises {arm} {rdir}", "lifts {arm} {rdir}", "puts {arm} {rdir}", "holds {arm} {rdir}",
                   "raises {arm} {rdir} and lowers {pron}", "extends {arm} {rdir}", "brings {arm} {rdir}",
                   "moves {arm} {rdir} and back down", "stretches {arm} {rdir}", "sticks {arm} {rdir}"],
    "clap": ["claps {times}", "claps {poss_hands} {times}", "claps {poss_hands}", "applauds",
             "claps {poss_hands} together {times}", "claps{spd}", "brings {poss_hands} together {times}",
             "claps in front of {poss} chest", "gives a round of applause", "applauds by clapping {times}"],
    "punch": ["punches {with_hand}", "throws a punch {with_hand}", "punches forward {times}", "boxes {times}",
              "jabs {with_hand} {times}", "punches the air {with_hand}", "throws {npunches}",
              "strikes forward {with_hand}", "does a punching motion {with_hand}", "punches straight ahead {times}"],
    "point": ["points {pdir} {with_hand}", "points {pdir}", "points at something {pdir}", "uses {hand} to point {pdir}",
              "extends {arm} and points {pdir}", "gestures {pdir} {with_hand}", "points {poss} finger {pdir}",
              "raises {arm} to point {pdir}", "indicates something {pdir} {with_hand}",
              "shows the way {pdir} {with_hand}"],
    "reach_up": ["reaches up {with_hand}", "reaches up high", "stretches {arm} up", "reaches for something above",
                 "reaches upward {with_hand}", "stands on tiptoes and reaches up", "reaches up to grab something",
                 "extends {arm} up toward the ceiling", "tries to reach something high up {with_hand}",
                 "reaches overhead {with_hand}"],
    "throw": ["throws something {with_hand}", "throws a ball {with_hand}", "makes a throwing motion {with_hand}",
              "throws {times} {with_hand}", "tosses an object {with_hand}", "winds up and throws {with_hand}",
              "throws overhand {with_hand}", "pitches a ball {with_hand}", "hurls something forward {with_hand}",
              "throws a ball overhand {times}"],
    "kick": ["kicks {with_leg}", "kicks forward {with_leg} {times}", "kicks{hi} {with_leg}",
             "does a{hi} kick {with_leg}", "kicks the air {with_leg}", "lifts {poss} {legname} and kicks",
             "kicks {times}", "does a front kick {with_leg}", "swings {poss} {legname} forward in a kick",
             "kicks out {with_leg} {times}"],
    "squat": ["squats {times}", "does {nsquats}", "squats down and stands up {times}", "bends {poss} knees and squats",
              "does a {depth} squat {times}", "performs {nsquats}", "squats {depth_adv} {times}",
              "lowers into a squat {times}", "does knee bends {times}", "goes down into a squat and back up"],
    "lunge": ["lunges forward {with_leg}", "does a lunge {with_leg}", "lunges {times}",
              "steps forward into a lunge {with_leg}", "performs {nlunges}", "lunges with the {leg} foot forward",
              "steps into a forward lunge {times}", "does forward lunges on the {leg} leg",
              "takes a big step forward {with_leg} and bends {poss} knees", "lunges forward and returns {times}"],
    "step_up": ["steps up onto something {with_leg} first", "steps onto a step and back down",
                "steps up and then steps back down", "climbs onto a box and steps down",
                "steps up onto a platform", "steps up on something, then down again",
                "steps onto a low step {with_leg}", "steps up with the {leg} foot", "climbs up a step and back down",
                "gets up on a box and steps off"],
    "bow": ["bows", "bows {depth_adv}", "takes a bow", "bends forward in a bow", "bows down",
            "makes a {depth} bow", "bows politely", "does a {depth} bow", "bows at the waist",
            "leans forward to bow"],
    "spin": ["spins around {times}", "spins {times}", "turns around in a full circle {times}", "spins to the {dir}",
             "twirls around {times}", "does {nspins}", "pirouettes to the {dir}", "spins on the spot {times}",
             "rotates on the spot to the {dir}, {times}", "spins in place to the {dir}"],
    "sit": ["sits down on the floor and stands up", "sits on the ground then gets back up",
            "sits down and gets up again", "lowers onto the floor and then rises",
            "takes a seat on the ground and stands back up", "sits down then stands up",
            "goes down to sit on the floor and gets up", "sits on the floor for a moment then stands",
            "sits down on the ground briefly", "drops to a seat on the floor and stands again"],
    "crouch": ["crouches down", "crouches and stands back up", "squats down low and holds", "ducks down",
               "gets down in a crouch", "crouches down on {poss} toes", "bends down low", "hunkers down",
               "goes into a crouch then rises", "crouches low for a moment"],
    "stretch": ["stretches {style}", "does a stretch {style}", "stretches {poss} arms {style}", "stretches",
                "stretches {poss} body {style}", "does a {style_adj} stretch", "raises both arms and stretches {style}",
                "stretches out {style}", "loosens up with a stretch {style}", "does some stretching {style}"],
    "idle": ["stands still", "stands in place", "stands idle", "stands and sways slightly", "waits in place",
             "stands there, shifting weight", "stands and looks around", "remains standing", "stands casually",
             "idles on the spot"],
}


def train_templates(family: str) -> list[int]:
    return list(range(len(TEMPLATES[family]) - HELD_OUT_PER_FAMILY))


def held_out_templates(family: str) -> list[int]:
    return list(range(len(TEMPLATES[family]) - HELD_OUT_PER_FAMILY, len(TEMPLATES[family])))


def _possessive(subject: str, rng: np.random.Generator) -> str:
    if subject in ("a man", "the man"):
        return "his"
    if subject == "a woman":
        return "her"
    return ["their", "the"][int(rng.integers(2))]


def _slots(family: str, p: dict, subject: str, rng: np.random.Generator) -> dict[str, str]:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    poss = _possessive(subject, rng)
    s: dict[str, str] = {"poss": poss, "spd": pick(_SPEED[p.get("speed", "normal")])}
    reps = int(p.get("reps", p.get("turns", p.get("steps", 1))))
    s["times"] = pick(_TIMES.get(reps, [f"{reps} times"]))
    s["n"] = _NUM.get(reps, str(reps))
    plural = lambda one, many: f"a {one}" if reps == 1 else f"{_NUM.get(reps, reps)} {many}"  # noqa: E731
    s.update(njumps=plural("jump", "jumps"), nhops=plural("hop", "hops"), npunches=plural("punch", "punches"),
             nsquats=plural("squat", "squats"), nlunges=plural("lunge", "lunges"), nspins=plural("full spin", "full spins"))
    if "hand" in p:
        h = p["hand"]
        s["hand"] = "both hands" if h == "both" else f"{poss} {h} hand"
        s["arm"] = "both arms" if h == "both" else f"{poss} {h} arm"
        s["with_hand"] = "with both hands" if h == "both" else f"with {pick([poss, 'the'])} {h} hand"
        s["pron"] = "them" if h == "both" else "it"
    s["poss_hands"] = f"{poss} hands"
    if "leg" in p:
        s["leg"] = p["leg"]
        s["other"] = "right" if p["leg"] == "left" else "left"
        s["legname"] = f"{p['leg']} leg"
        s["with_leg"] = f"with {pick([poss, 'the'])} {p['leg']} {pick(['leg', 'foot'])}"
    if "direction" in p:
        s["dir"] = p["direction"]
    if family == "turn":
        s["deg"] = str(p["angle"])
        s["ang"] = pick({90: ["90 degrees", "a quarter turn"], 180: ["180 degrees", "half a turn", "all the way around"],
                         270: ["270 degrees", "three quarters of a turn"]}[p["angle"]])
    if family == "circle":
        s["path"] = pick(["a circle", "a full circle"] if p["shape"] == "circle" else ["a curve", "an arc"])
    if family in ("jump", "jump_forward", "kick"):
        s["hi"] = pick([" high", " very high"]) if p.get("height") == "high" else pick(["", " low"])
    if family == "wave":
        s["amp"] = pick(["widely", "energetically"]) if p["amplitude"] == "big" else pick(["gently", "a little"])
    if family == "raise_arms":
        s["rdir"] = pick({"up": ["up", "above the head", "overhead"], "forward": ["forward", "in front", "straight ahead"],
                          "sideways": ["out to the sides", "sideways", "to the side"]}[p["direction"]])
    if family == "point":
        side = "left" if p["hand"] == "left" else "right"
        s["pdir"] = pick({"forward": ["forward", "ahead", "straight ahead"], "sideways": [f"to the {side}"],
                          "up": ["up", "upward", "at the sky"]}[p["direction"]])
    if family in ("squat", "bow"):
        deep = p.get("depth") in ("deep",)
        s["depth"] = pick(["deep", "low"]) if deep else pick(["half", "shallow"] if family == "squat" else ["slight", "small"])
        s["depth_adv"] = pick(["deeply", "low"]) if deep else pick(["slightly", "a little"])
    if family == "stretch":
        over = p["style"] == "overhead"
        s["style"] = pick(["upward", "overhead", "toward the sky"]) if over else pick(["to both sides", "from side to side"])
        s["style_adj"] = pick(["overhead", "full-body"]) if over else pick(["side", "sideways"])
    return s


def verb_phrase(family: str, template: int, params: dict, subject: str, rng: np.random.Generator) -> str:
    text = TEMPLATES[family][template].format(**_slots(family, params, subject, rng))
    return re.sub(r"\s+", " ", text).strip().rstrip(",")


def caption(subject: str, phrases: list[str], connectors: list[int]) -> str:
    """'a person walks forward, then turns left and waves.' from verb phrases joined by connector templates."""
    text = phrases[0]
    for vp, c in zip(phrases[1:], connectors):
        text = CONNECTORS[c].format(a=text, b=vp)
    return f"{subject} {text}."


def train_connectors() -> list[int]:
    return list(range(len(CONNECTORS) - HELD_OUT_CONNECTORS))


def held_out_connectors() -> list[int]:
    return list(range(len(CONNECTORS) - HELD_OUT_CONNECTORS, len(CONNECTORS)))


# --- HumanML3D-style tokens ----------------------------------------------------------------------------------
_POS = {
    **dict.fromkeys("a an the".split(), "DET"),
    **dict.fromkeys("his her their them it someone somebody something one".split(), "PRON"),
    **dict.fromkeys("to with in on onto at of around from for into along toward like off above by".split(), "ADP"),
    **dict.fromkeys(("then forward forwards backward backwards ahead back down up away again twice once sideways "
                     "overhead afterwards first next still there fast high low upward straight together briefly "
                     "quietly stealthily carefully politely widely gently energetically slightly leisurely briskly "
                     "deeply all very").split(), "ADV"),
    **dict.fromkeys("one two three four five six 3 90 180 270".split(), "NUM"),
    "and": "CCONJ",
    **dict.fromkeys(("left right big small deep slight shallow half low full short long light easy slow walking "
                     "straight several few front low full-body side").split(), "ADJ"),
}
_VERBS = {w.split()[0].strip(",") for ts in TEMPLATES.values() for t in ts for w in [t.replace("is ", "", 1)]}
_VERBS |= {"waving", "clapping", "turning", "curving", "crouching", "lowers", "stands", "returns", "rises", "gets",
           "bends", "hops", "kicks", "waves", "points", "reach", "grab", "point", "turning", "stretches", "steps",
           "reaches", "throws", "squats", "looks", "sways", "shifting", "walking", "running", "jogging", "stretching",
           "lifts", "holds", "greets", "touches", "sits", "rises"}


def _lemma(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("sses", "ss"), ("xes", "x"), ("ing", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def tokens(text: str) -> str:
    """'a person walks forward.' -> 'a/DET person/NOUN walk/VERB forward/ADV' (non-alphabetic words dropped)."""
    out = []
    for w in re.findall(r"[a-z0-9-]+", text.lower()):
        if not w.isalpha() and w not in _POS:
            continue
        pos = _POS.get(w) or ("VERB" if w in _VERBS else "NOUN")
        lemma = w if pos not in ("VERB", "NOUN") or w == "left" else _lemma(w)
        out.append(f"{lemma}/{pos}")
    return " ".join(out)
