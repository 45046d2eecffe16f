r"""The embedded corpus: caption-like English sentences from a grammar whose probabilities are exact.

Each sentence has two sentence-level latent factors: the **scene** it describes (6 scenes) and
its **style** ("terse" or "vivid": vivid sentences carry more adjectives and a place phrase).
Given them, the sentence is a fixed sequence of slots

    a [person-adjective] SUBJECT VERB DET [colour] OBJECT [PLACE-PHRASE] .

each slot optional with a probability that depends on the style, and each filled by a word (or
a phrase) drawn from a distribution that depends on the scene. So

    P(x) = Σ_{scene, style} P(scene) P(style) Σ_{derivations of x} Π_slots P(slot choice),

computed exactly by `SceneGrammar.log_prob` (a small dynamic programme over slots × positions
sums the derivations, so the grammar need not be unambiguous). The true entropy per token —
the best NLL any model can reach on this corpus — is then a Monte Carlo average of exact
log-probabilities. Sentences end with "." and, for NLLs, an end-of-sentence token.

``python -m ganvae_edu.text.scenes data/scenes`` regenerates the committed corpus (seed 0).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

Outcome = tuple[str, ...]


def zipf(words: Sequence[str | Outcome], s: float = 1.0) -> dict[Outcome, float]:
    """Probabilities ∝ 1/(rank+1)^s over `words` in the given order (phrases as tuples)."""
    weights = [1.0 / (k + 1) ** s for k in range(len(words))]
    total = sum(weights)
    return {(w,) if isinstance(w, str) else tuple(w): wt / total for w, wt in zip(words, weights)}


@dataclass
class Slot:
    name: str
    p_present: float  # probability the slot is filled (1 for required slots)
    outcomes: dict[Outcome, float]  # what fills it, with probabilities summing to 1


# Scene-specific vocabularies, most frequent first.
SCENES: dict[str, dict[str, list]] = {
    "kitchen": {
        "subject": ["woman", "man", "chef", "cook", "girl", "boy", "grandmother", "baker"],
        "verb": ["cuts", "cooks", "washes", "holds", "slices", "stirs", "serves", "prepares"],
        "object": ["pizza", "cake", "bowl", "knife", "sandwich", "pot", "pan", "tomato", "onion", "plate"],
        "place": ["in the kitchen", "at the counter", "near the stove", "by the sink", "in a small kitchen"],
    },
    "street": {
        "subject": ["man", "woman", "cyclist", "boy", "officer", "girl", "driver", "skateboarder"],
        "verb": ["rides", "pushes", "crosses", "parks", "carries", "walks", "holds", "passes"],
        "object": ["bicycle", "bus", "car", "motorcycle", "skateboard", "truck", "sign", "bag", "scooter"],
        "place": ["down a busy street", "on the sidewalk", "near the traffic light", "at the corner",
                  "in the city"],
    },
    "beach": {
        "subject": ["surfer", "man", "woman", "boy", "girl", "dog", "child", "couple"],
        "verb": ["carries", "rides", "flies", "holds", "throws", "catches", "watches", "drags"],
        "object": ["surfboard", "kite", "umbrella", "frisbee", "towel", "ball", "wave", "boat"],
        "place": ["on the beach", "in the ocean", "near the water", "on the sand", "by the shore"],
    },
    "park": {
        "subject": ["dog", "boy", "girl", "man", "woman", "child", "player", "family"],
        "verb": ["throws", "catches", "kicks", "chases", "holds", "watches", "plays", "swings"],
        "object": ["frisbee", "ball", "kite", "bat", "stick", "bench", "tree", "swing", "blanket"],
        "place": ["in the park", "on the grass", "in a green field", "under a tree", "near a pond"],
    },
    "farm": {
        "subject": ["farmer", "cow", "horse", "man", "sheep", "boy", "woman", "goat"],
        "verb": ["eats", "pulls", "feeds", "watches", "drives", "carries", "grazes", "leads"],
        "object": ["hay", "tractor", "grass", "fence", "cart", "bucket", "horse", "barn", "calf"],
        "place": ["on the farm", "in a field", "near the barn", "in the pasture", "by the fence"],
    },
    "office": {
        "subject": ["man", "woman", "worker", "cat", "manager", "student", "teacher", "girl"],
        "verb": ["uses", "holds", "reads", "types", "carries", "watches", "opens", "checks"],
        "object": ["laptop", "phone", "computer", "keyboard", "book", "desk", "cup", "screen", "mouse"],
        "place": ["in an office", "at a desk", "near the window", "in a meeting room", "at work"],
    },
}
PERSON_ADJECTIVES = ["young", "old", "smiling", "tall", "little", "happy", "tired", "busy"]
COLOURS = ["red", "white", "black", "blue", "large", "small", "green", "yellow", "brown", "wooden"]
STYLES = {"terse": {"adj": 0.15, "colour": 0.2, "place": 0.3},
          "vivid": {"adj": 0.6, "colour": 0.7, "place": 0.9}}


@dataclass
class SceneGrammar:
    """The generator: latent factors, slots per latent, sampling and exact log-probabilities."""

    scenes: dict[str, dict[str, list]] = field(default_factory=lambda: SCENES)
    styles: dict[str, dict[str, float]] = field(default_factory=lambda: STYLES)
    person_adjectives: list[str] = field(default_factory=lambda: PERSON_ADJECTIVES)
    colours: list[str] = field(default_factory=lambda: COLOURS)
    style_prior: dict[str, float] = field(default_factory=lambda: {"terse": 0.5, "vivid": 0.5})
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def latents(self) -> list[tuple[tuple[str, str], float]]:
        """(scene, style) pairs with their prior probability (scenes uniform)."""
        p_scene = 1.0 / len(self.scenes)
        return [((sc, st), p_scene * p) for sc in self.scenes for st, p in self.style_prior.items()]

    def slots(self, scene: str, style: str) -> list[Slot]:
        v, s = self.scenes[scene], self.styles[style]
        return [
            Slot("det", 1.0, {("a",): 1.0}),
            Slot("adj", s["adj"], zipf(self.person_adjectives)),
            Slot("subject", 1.0, zipf(v["subject"])),
            Slot("verb", 1.0, zipf(v["verb"])),
            Slot("obj_det", 1.0, {("a",): 0.7, ("the",): 0.3}),
            Slot("colour", s["colour"], zipf(self.colours)),
            Slot("object", 1.0, zipf(v["object"])),
            Slot("place", s["place"], zipf([tuple(p.split()) for p in v["place"]])),
            Slot("end", 1.0, {(".",): 1.0}),
        ]

    def sample(self, rng: random.Random) -> tuple[list[str], str, str]:
        """One sentence (tokens) with its scene and style."""
        (scene, style), = rng.choices([lat for lat, _ in self.latents()],
                                      weights=[p for _, p in self.latents()])
        tokens: list[str] = []
        for slot in self.slots(scene, style):
            if slot.p_present < 1.0 and rng.random() >= slot.p_present:
                continue
            outcomes = list(slot.outcomes)
            (choice,) = rng.choices(outcomes, weights=[slot.outcomes[o] for o in outcomes])
            tokens.extend(choice)
        return tokens, scene, style

    def _indexed_slots(self, scene: str, style: str) -> list[tuple[float, dict[str, list]]]:
        """The slots with their outcomes indexed by first token (built once per latent)."""
        cache = self._index
        if (scene, style) not in cache:
            indexed = []
            for slot in self.slots(scene, style):
                by_first: dict[str, list] = {}
                for outcome, p in slot.outcomes.items():
                    by_first.setdefault(outcome[0], []).append((outcome, p))
                indexed.append((slot.p_present, by_first))
            cache[(scene, style)] = indexed
        return cache[(scene, style)]

    def log_prob_given(self, tokens: Sequence[str], scene: str, style: str) -> float:
        r"""log P(x | scene, style), summing every derivation of x (−inf if there is none).

        f[i][j] = P(slots i.. generate tokens[j:]); f[n][len] = 1;
        f[i][j] = (1 - p_i) f[i+1][j] + p_i Σ_{o matches tokens at j} P_i(o) f[i+1][j + |o|].
        """
        slots = self._indexed_slots(scene, style)
        tokens = tuple(tokens)
        n, length = len(slots), len(tokens)
        f = [[0.0] * (length + 1) for _ in range(n + 1)]
        f[n][length] = 1.0
        for i in range(n - 1, -1, -1):
            p_present, by_first = slots[i]
            nxt, row = f[i + 1], f[i]
            for j in range(length + 1):
                total = (1.0 - p_present) * nxt[j]
                if j < length:
                    for outcome, p in by_first.get(tokens[j], ()):
                        k = j + len(outcome)
                        if k <= length and tokens[j:k] == outcome:
                            total += p_present * p * nxt[k]
                row[j] = total
        return math.log(f[0][0]) if f[0][0] > 0 else -math.inf

    def log_prob(self, tokens: Sequence[str]) -> float:
        """log P(x) = log Σ_{scene, style} P(scene, style) P(x | scene, style)."""
        terms = [math.log(p) + self.log_prob_given(tokens, *lat) for lat, p in self.latents()]
        top = max(terms)
        if top == -math.inf:
            return -math.inf
        return top + math.log(sum(math.exp(t - top) for t in terms))

    def posterior(self, tokens: Sequence[str]) -> dict[tuple[str, str], float]:
        """P(scene, style | x) by Bayes' rule."""
        log_joint = {lat: math.log(p) + self.log_prob_given(tokens, *lat) for lat, p in self.latents()}
        log_px = self.log_prob(tokens)
        return {lat: math.exp(v - log_px) for lat, v in log_joint.items()}

    def pooled(self) -> SceneGrammar:
        """The same slot template with one scene whose word lists are the union of all scenes'.

        It produces every sentence that fits the template whatever words it mixes: a sentence
        this grammar can produce and `self` cannot puts words of different scenes together.
        """
        merged: dict[str, list] = {}
        for words in self.scenes.values():
            for slot, options in words.items():
                kept = merged.setdefault(slot, [])
                kept.extend(w for w in options if w not in kept)
        return SceneGrammar(scenes={"any": merged}, styles=self.styles,
                            person_adjectives=self.person_adjectives, colours=self.colours,
                            style_prior=self.style_prior)


def generate(grammar: SceneGrammar, n: int, seed: int) -> list[tuple[list[str], str, str]]:
    rng = random.Random(seed)
    return [grammar.sample(rng) for _ in range(n)]


SPLITS = {"train": 20_000, "valid": 2_000, "test": 2_000}


def split_sentences(split: str, seed: int = 0) -> list[list[str]]:
    """The sentences (tokens) of one split of the corpus `write_corpus(…, seed)` writes, made
    again from the grammar: the committed ``data/scenes`` split for seed 0, without reading it."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: use one of {', '.join(SPLITS)}")
    offset = list(SPLITS).index(split)
    return [tokens for tokens, _, _ in generate(SceneGrammar(), SPLITS[split], seed * 1000 + offset)]


def write_corpus(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Write ``train/valid/test.tsv`` (sentence, scene, style per line) for `seed`, atomically."""
    from ganvae_edu.runtime.files import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    grammar = SceneGrammar()
    written = {}
    for offset, (split, size) in enumerate(SPLITS.items()):
        rows = generate(grammar, size, seed * 1000 + offset)
        path = folder / f"{split}.tsv"
        with atomic_write(path) as f:
            f.write("".join(f"{' '.join(t)}\t{sc}\t{st}\n" for t, sc, st in rows))
        written[split] = path
    return written


if __name__ == "__main__":  # pragma: no cover
    import sys

    for path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "data/scenes")).values():
        print(f"wrote {path}")
