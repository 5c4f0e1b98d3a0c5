"""The synthetic benchmark: four small tasks generated from a seed, no download.

All four tasks are drawn from one generative world. A sentence states a *fact* (who did what to
which thing, and how it was judged) through one of several templates, synonyms, fillers and an
optional closing remark that agrees with the judgement, so:

- syn_sentiment asks for the judgement's polarity,
- syn_topic asks which of four topics the thing (and its topic-specific action) belongs to,
- syn_paraphrase asks whether two sentences state the same fact,
- syn_similarity scores 0-5 which parts of the fact two sentences share (topic and polarity, the
  gist, weigh most).

The tasks share words and meaning: polarity and topic decide sentiment and topic and are most of
what makes two sentences similar or paraphrases, so what stage one learns on one task helps
another, which is what stage-two transfer needs to show anything. Only the sampling depends on the
seed; the world (word lists, templates) is fixed in code, so one tokenizer serves every seed.
``pretraining_examples`` gives the same world's text with its coarse factors for pretraining a
tiny backbone, the counterpart of the knowledge a real pretrained model brings.

What the tasks add to that text, and pretraining never shows, keeps the two single-sentence
tasks from being read off the backbone's knowledge (so that methods differ): a sentiment or
topic sentence may negate its judgement ("not great" is negative), a topic sentence may open with
a clause about a thing of another topic ("while bob booked the hotel , ..."), and a share of all
labels disagree with the text, as annotators do (``LABEL_NOISE``; noise on the similarity
score), so no method reaches 100. The pair tasks keep the plain text; a sweep gives them fewer
train rows (the demo: 300 against 600), the small related tasks where transfer pays.
``VERSION`` names this generator: it enters the data spec, hence node ids, so results of another
version are never taken for these.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from trainables.tasks.registry import get_task

# The generator's version: bump it whenever the rows a (task, seed, sizes) gives change.
VERSION = 2

ENTITIES = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "nina",
    "oscar",
    "peggy",
    "quinn",
    "rupert",
)

# topic -> (things, actions). Actions are topic-specific, so a topic shows in two words and
# co-occurrence alone reveals it; syn_topic's label order is this order.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "sports": (
        ("match", "goal", "team", "coach", "stadium", "league", "player", "season"),
        (("watched", "followed"), ("played", "practised"), ("coached", "trained")),
    ),
    "tech": (
        ("laptop", "software", "phone", "server", "robot", "network", "chip", "battery"),
        (("installed", "configured"), ("charged", "powered"), ("coded", "programmed")),
    ),
    "food": (
        ("pizza", "soup", "bakery", "chef", "dessert", "noodles", "salad", "cheese"),
        (("ate", "tasted"), ("cooked", "baked"), ("ordered", "bought")),
    ),
    "travel": (
        ("flight", "hotel", "beach", "museum", "train", "airport", "island", "castle"),
        (("booked", "reserved"), ("toured", "explored"), ("visited", "saw")),
    ),
}

# Judgements come in synonym pairs: a paraphrase may swap a word for its synonym.
POSITIVE = (
    ("great", "excellent"),
    ("wonderful", "superb"),
    ("lovely", "delightful"),
    ("brilliant", "fantastic"),
    ("pleasant", "enjoyable"),
    ("amazing", "outstanding"),
)
NEGATIVE = (
    ("terrible", "awful"),
    ("horrible", "dreadful"),
    ("boring", "dull"),
    ("disappointing", "poor"),
    ("messy", "sloppy"),
    ("broken", "faulty"),
)
# Optional closing remarks that agree with the judgement: polarity also shows in co-occurrence.
POSITIVE_CUES = ("so i would recommend it", "and everyone loved it", "happily")
NEGATIVE_CUES = ("so i would avoid it", "and everyone hated it", "sadly")
CUE_PROBABILITY = 0.5

# What only task text has (see the module doc): negated judgements (sentiment, topic), a clause
# about another topic's thing (topic), labels that disagree with the text (every task).
NEGATIONS = ("not", "hardly", "never")
NEGATION_PROBABILITY = 0.2
DISTRACTORS = (
    "while {ent} {act} the {thing} ,",
    "after {ent} {act} the {thing} ,",
    "before {ent} {act} the {thing} ,",
)
DISTRACTOR_PROBABILITY = 0.5
LABEL_NOISE = 0.1  # classification: the text states another label's fact
SIMILARITY_NOISE = 0.2  # standard deviation added to the 0-5 similarity score

TEMPLATES = (
    "{ent} {act} the {thing} and it was {adj}",
    "the {thing} that {ent} {act} was {adj}",
    "{ent} {act} a {adj} {thing}",
    "according to {ent} , who {act} it , the {thing} was {adj}",
    "{ent} {act} the {thing} , truly {adj}",
    "what a {adj} {thing} , said {ent} who {act} it",
)
FILLERS = ("", "", "today", "yesterday", "again", "last week")

TOPIC_NAMES = tuple(TOPICS)
THINGS = tuple(thing for things, _ in TOPICS.values() for thing in things)
THINGS_PER_TOPIC = len(THINGS) // len(TOPICS)
ACTIONS_PER_TOPIC = len(next(iter(TOPICS.values()))[1])
JUDGEMENTS = POSITIVE + NEGATIVE  # index < len(POSITIVE) means positive


@dataclass(frozen=True)
class Fact:
    """What one sentence says: indices into the world's word lists (act is within the topic)."""

    ent: int
    act: int
    thing: int
    judgement: int
    negated: bool = False  # "not great": the polarity is the judgement's opposite

    @property
    def topic(self) -> int:
        return self.thing // THINGS_PER_TOPIC

    @property
    def positive(self) -> bool:
        return (self.judgement < len(POSITIVE)) != self.negated

    def meaning(self, slot: str) -> tuple[int, ...]:
        """What a slot means: synonyms share it, and an action means something within a topic."""
        return {
            "ent": (self.ent,),
            "act": (self.topic, self.act),
            "thing": (self.thing,),
            "topic": (self.topic,),
            "polarity": (int(self.positive),),
        }[slot]


# The parts of a fact a second sentence may change; "thing" stays within the topic, "topic" moves
# the thing to another topic, "polarity" flips the judgement.
SLOTS = ("ent", "act", "thing", "topic", "polarity")
# How much each shared part adds to syn_similarity's 0-5 score. Topic and polarity weigh most: a
# sentence's gist (what it is about and whether it is praise) matters more than its wording.
SIMILARITY_WEIGHTS = {"topic": 2.0, "polarity": 2.0, "thing": 0.5, "ent": 0.25, "act": 0.25}
CHANGE_PROBABILITY = 0.5  # syn_similarity changes each part independently with this probability


def _random_fact(
    rng: random.Random,
    positive: bool | None = None,
    topic: int | None = None,
    negation: float = 0.0,
) -> Fact:
    """A fact drawn at random; ``positive`` and ``topic`` fix those, ``negation`` is the chance
    that the judgement is negated (no draw at 0: pretraining text keeps its random stream)."""
    negated = negation > 0 and rng.random() < negation
    if positive is None:
        judgement = rng.randrange(len(JUDGEMENTS))
    else:
        # a negated judgement states the opposite polarity
        offset = 0 if positive != negated else len(POSITIVE)
        judgement = offset + rng.randrange(len(POSITIVE))
    if topic is None:
        topic = rng.randrange(len(TOPICS))
    thing = topic * THINGS_PER_TOPIC + rng.randrange(THINGS_PER_TOPIC)
    ent, act = rng.randrange(len(ENTITIES)), rng.randrange(ACTIONS_PER_TOPIC)
    return Fact(ent, act, thing, judgement, negated)


def _task_fact(rng: random.Random, positive: bool | None = None, topic: int | None = None) -> Fact:
    return _random_fact(rng, positive, topic, NEGATION_PROBABILITY)


def _other(rng: random.Random, value: int, size: int) -> int:
    """A value in range(size) other than ``value``, uniformly."""
    return (value + 1 + rng.randrange(size - 1)) % size


def _change_slot(rng: random.Random, fact: Fact, slot: str) -> Fact:
    """The fact with one part's meaning changed."""
    if slot == "polarity":
        offset = len(POSITIVE) if fact.judgement < len(POSITIVE) else 0
        return replace(fact, judgement=offset + rng.randrange(len(POSITIVE)))
    if slot == "ent":
        return replace(fact, ent=_other(rng, fact.ent, len(ENTITIES)))
    if slot == "act":
        return replace(fact, act=_other(rng, fact.act, ACTIONS_PER_TOPIC))
    if slot == "thing":
        within = _other(rng, fact.thing % THINGS_PER_TOPIC, THINGS_PER_TOPIC)
        return replace(fact, thing=fact.topic * THINGS_PER_TOPIC + within)
    # a thing of another topic; the action index stays, so its words change with the topic
    topic = _other(rng, fact.topic, len(TOPICS))
    return replace(fact, thing=topic * THINGS_PER_TOPIC + rng.randrange(THINGS_PER_TOPIC))


def realise(rng: random.Random, fact: Fact, distractor: float = 0.0) -> str:
    """One sentence stating ``fact``: a random template, synonyms, an optional cue and filler;
    ``distractor`` is the chance of a clause about another topic's thing (no draw at 0)."""
    return _realise(rng, fact, distractor)[0]


def _realise(rng: random.Random, fact: Fact, distractor: float) -> tuple[str, bool]:
    """The sentence and whether it has a distractor clause."""
    actions = TOPICS[TOPIC_NAMES[fact.topic]][1]
    template = rng.choice(TEMPLATES)
    act = rng.choice(actions[fact.act])
    adj = rng.choice(JUDGEMENTS[fact.judgement])
    if fact.negated:
        adj = f"{rng.choice(NEGATIONS)} {adj}"
    words = template.format(ent=ENTITIES[fact.ent], act=act, thing=THINGS[fact.thing], adj=adj)
    parts = [words]
    distracted = distractor > 0 and rng.random() < distractor
    if distracted:
        # first, who did what to which thing of another topic: two words of that topic
        topic = _other(rng, fact.topic, len(TOPICS))
        things, other_actions = TOPICS[TOPIC_NAMES[topic]]
        clause = rng.choice(DISTRACTORS).format(
            ent=rng.choice(ENTITIES),
            act=rng.choice(rng.choice(other_actions)),
            thing=rng.choice(things),
        )
        parts.insert(0, clause)
    parts.append(rng.choice(FILLERS))
    if rng.random() < CUE_PROBABILITY:
        parts.append(rng.choice(POSITIVE_CUES if fact.positive else NEGATIVE_CUES))
    return " ".join(p for p in parts if p), distracted


def _stated(rng: random.Random, label: int, num_labels: int) -> int:
    """The label the text states: ``label``, or with ``LABEL_NOISE`` another one (the row keeps
    ``label``, so labels stay balanced)."""
    if rng.random() < LABEL_NOISE:
        return _other(rng, label, num_labels)
    return label


def _balanced_labels(rng: random.Random, n: int, num_labels: int) -> list[int]:
    labels = [i % num_labels for i in range(n)]
    rng.shuffle(labels)
    return labels


def _sentiment(rng: random.Random, label: int) -> dict:
    fact = _task_fact(rng, positive=bool(_stated(rng, label, 2)))
    return {"sentence1": realise(rng, fact), "label": label}


def _topic(rng: random.Random, label: int) -> dict:
    fact = _task_fact(rng, topic=_stated(rng, label, len(TOPICS)))
    return {"sentence1": realise(rng, fact, DISTRACTOR_PROBABILITY), "label": label}


def _paraphrase(rng: random.Random, label: int) -> dict:
    fact = _random_fact(rng)
    other = fact
    if not _stated(rng, label, 2):
        # any non-empty set of parts changes, so about a quarter of the negatives keep topic and
        # polarity and differ only in who, what exactly or which action: near misses
        changed = []
        while not changed:
            changed = [slot for slot in SLOTS if rng.random() < 0.5]
        for slot in changed:
            other = _change_slot(rng, other, slot)
    return {
        "sentence1": realise(rng, fact),
        "sentence2": realise(rng, other),
        "label": label,
    }


def _similarity(rng: random.Random, label: int) -> dict:
    del label  # similarity is continuous: it follows from which parts are shared
    fact = _random_fact(rng)
    other = fact
    for slot in SLOTS:
        if rng.random() < CHANGE_PROBABILITY:
            other = _change_slot(rng, other, slot)
    score = sum(
        weight
        for slot, weight in SIMILARITY_WEIGHTS.items()
        if fact.meaning(slot) == other.meaning(slot)
    )
    score = min(5.0, max(0.0, score + rng.gauss(0.0, SIMILARITY_NOISE)))
    return {
        "sentence1": realise(rng, fact),
        "sentence2": realise(rng, other),
        "label": float(round(score, 2)),
    }


_MAKERS = {
    "syn_sentiment": _sentiment,
    "syn_topic": _topic,
    "syn_paraphrase": _paraphrase,
    "syn_similarity": _similarity,
}


def generate(
    task: str,
    seed: int,
    n_train: int | None = None,
    n_test: int | None = None,
    version: int = VERSION,
) -> dict[str, list[dict]]:
    """The task's "official" train and validation splits: raw rows {sentence1, [sentence2], label}.

    Sizes default to the registry's; the same (task, seed, sizes) always gives the same rows.
    ``version`` is the generator a data spec asks for; only this one exists.
    """
    if task not in _MAKERS:
        raise KeyError(f"{task!r} is not a synthetic task; known: {', '.join(_MAKERS)}")
    if version != VERSION:
        raise ValueError(
            f"synthetic data version {version} was asked for; this code generates version "
            f"{VERSION} (its rows differ): plan the sweep again with this code"
        )
    spec = get_task(task)
    n_train = spec.train_size if n_train is None else n_train
    n_test = spec.test_size if n_test is None else n_test
    # a string seed is hashed deterministically by random (unlike hash() of a str)
    rng = random.Random(f"{task}:{seed}")
    num_labels = max(spec.num_labels, 2)
    make = _MAKERS[task]
    splits = {}
    for split, n in (("train", n_train), ("validation", n_test)):
        splits[split] = [make(rng, label) for label in _balanced_labels(rng, n, num_labels)]
    return splits


def pretraining_examples(seed: int, n: int, pair_fraction: float = 0.5) -> list[dict]:
    """Unlabelled-task text with the world's coarse latent factors, for pretraining a tiny backbone.

    Rows {"sentence1", "sentence2" (or None), "factors1", "factors2" (or None)}, factors being
    {"topic": 0-3, "polarity": 0/1}: what a pretrained language model would already know about a
    sentence (real RoBERTa knows topics and sentiment words before any fine-tuning). Plain text:
    no negation, nothing about another topic in passing; those are for the tasks to teach. The
    facts are drawn independently of every task's splits.
    """
    rng = random.Random(f"pretraining:{seed}")
    rows = []
    for _ in range(n):
        facts = [_random_fact(rng)]
        if rng.random() < pair_fraction:
            facts.append(_random_fact(rng))
        texts = [realise(rng, f) for f in facts]
        factors = [{"topic": f.topic, "polarity": int(f.positive)} for f in facts]
        rows.append(
            {
                "sentence1": texts[0],
                "sentence2": texts[1] if len(texts) > 1 else None,
                "factors1": factors[0],
                "factors2": factors[1] if len(factors) > 1 else None,
            }
        )
    return rows


def corpus(seed: int = 0, n: int = 1600) -> list[str]:
    """Sentences of the world (its pretraining text): what a tokenizer for it is trained on."""
    lines = []
    for row in pretraining_examples(seed, n):
        lines += [t for t in (row["sentence1"], row["sentence2"]) if t]
    # every word of the world once, so rare words are in the vocabulary whatever was sampled
    actions = [w for _, pairs in TOPICS.values() for pair in pairs for w in pair]
    words = [*ENTITIES, *THINGS, *actions, *(w for pair in JUDGEMENTS for w in pair)]
    texts = TEMPLATES + FILLERS + POSITIVE_CUES + NEGATIVE_CUES + NEGATIONS + DISTRACTORS
    words += [w for t in texts for w in t.replace("{", " ").split() if "}" not in w]
    lines.append(" ".join(words))
    return lines
