"""A task's rows, in the hub's columns, become model examples: the paper's input format per task.

An example is {"text_a", "text_b" (or None), "label", "row"} ("row": the index of the row it
comes from in its split); COPA's carry "choices" (one second segment per answer) instead of
"text_b"; MultiRC's and ReCoRD's carry "group" (the question they answer)
and ReCoRD's also "candidate" and "answers", so predictions can be scored per question.

Every loader (the hub, Parquet/CSV/JSONL with the hub's columns, GLUE TSV, SuperGLUE JSONL)
first brings its rows to the hub's columns, so the templates below are written once.
"""

from __future__ import annotations

from collections.abc import Callable

from trainables.tasks.registry import MULTILABEL, REGRESSION, get_task

Row = dict
Example = dict


def to_examples(task: str, rows: list[Row], label_vocab: list[str] | None = None) -> list[Example]:
    """The examples of ``rows`` (one split, hub columns) of ``task``.

    ``label_vocab`` names a multi-label task's labels in index order when rows give them as
    strings (``label_vocabulary`` builds it from the train split).
    """
    spec = get_task(task)
    if spec.problem_type == MULTILABEL:
        return [
            {**_multilabel(task, row, spec.num_labels, label_vocab), "row": i}
            for i, row in enumerate(rows)
        ]
    convert = _CONVERTERS.get(task)
    if convert is None:
        raise KeyError(f"no input format for task {task!r}")
    out: list[Example] = []
    for i, row in enumerate(rows):
        for example in convert(task, row):
            example["row"] = i  # the row's place in its split: ``data split`` shows it
            out.append(example)
    return out


def label_id(task: str, value) -> int | float:
    """A label as the model wants it: a class index, or a float for regression.

    Accepts the hub's integers, booleans (BoolQ, WiC, WSC in SuperGLUE's JSONL), digit strings
    (GLUE TSV) and label names (RTE, QNLI, MNLI, CB in their original files).
    """
    spec = get_task(task)
    if spec.problem_type == REGRESSION:
        return float(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        _check_range(task, value, spec.num_labels)
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return _check_range(task, int(text), spec.num_labels)
    names = [n.lower() for n in spec.label_names]
    if text.lower() in names:
        return names.index(text.lower())
    if text.lower() in ("true", "false") and spec.num_labels == 2:
        return int(text.lower() == "true")
    raise ValueError(f"{task}: unknown label {value!r}; expected one of {spec.label_names}")


def _check_range(task: str, value: int, num_labels: int) -> int:
    if not 0 <= value < num_labels:
        # -1 marks the hidden labels of GLUE/SuperGLUE test splits, which are never loaded
        raise ValueError(
            f"{task}: label {value} outside 0..{num_labels - 1} (an unlabelled split?)"
        )
    return value


def _field(row: Row, task: str, *names: str):
    """The first of ``names`` that ``row`` has (files of one task name a column differently)."""
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    raise KeyError(f"{task}: a row has none of the columns {names}; it has {sorted(row)}")


def _single(task: str, row: Row) -> list[Example]:
    text = _field(row, task, "sentence", "text")
    return [{"text_a": str(text), "text_b": None, "label": label_id(task, row["label"])}]


# Each pair task's (first, second) column names: the hub's first, then other spellings.
_PAIR_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mrpc": (("sentence1",), ("sentence2",)),
    "stsb": (("sentence1",), ("sentence2",)),
    "rte": (("sentence1", "premise"), ("sentence2", "hypothesis")),  # GLUE's or SuperGLUE's file
    "qqp": (("question1",), ("question2",)),
    "mnli": (("premise", "sentence1"), ("hypothesis", "sentence2")),
    "qnli": (("question",), ("sentence",)),
    "cb": (("premise",), ("hypothesis",)),
    "boolq": (("question",), ("passage",)),
}


def _pair(task: str, row: Row) -> list[Example]:
    first, second = _PAIR_COLUMNS[task]
    return [
        {
            "text_a": str(_field(row, task, *first)),
            "text_b": str(_field(row, task, *second)),
            "label": label_id(task, row["label"]),
        }
    ]


def _copa(task: str, row: Row) -> list[Example]:
    # the premise reads on into each answer: "... because <choice>" / "... so <choice>"
    joiner = "because" if row["question"] == "cause" else "so"
    return [
        {
            "text_a": f"{row['premise']} {joiner}",
            "choices": [str(row["choice1"]), str(row["choice2"])],
            "label": label_id(task, row["label"]),
        }
    ]


def _wic(task: str, row: Row) -> list[Example]:
    # the target word leads both sentences, so the model knows which word's sense is asked about
    word = row["word"]
    return [
        {
            "text_a": f"{word}: {row['sentence1']}",
            "text_b": f"{word}: {row['sentence2']}",
            "label": label_id(task, row["label"]),
        }
    ]


def mark_pronoun(text: str, index: int) -> str:
    """``text`` with the word at ``index`` (of its whitespace split) wrapped in asterisks.

    As the official code does, the index is taken as given, never checked against the pronoun's
    text: in SuperGLUE's WSC validation split one index (row 42) points at the word after "it".
    """
    words = text.split()
    if not 0 <= index < len(words):
        raise ValueError(f"wsc: span2_index {index} is outside the text's {len(words)} words")
    words[index] = f"*{words[index]}*"
    return " ".join(words)


def _wsc(task: str, row: Row) -> list[Example]:
    # the sentence with the pronoun marked, paired with the candidate it may refer to
    marked = mark_pronoun(str(row["text"]), int(row["span2_index"]))
    return [
        {"text_a": marked, "text_b": str(row["span1_text"]), "label": label_id(task, row["label"])}
    ]


def multirc_group(row: Row) -> str:
    """The question an answer option belongs to: "<paragraph>-<question>"."""
    idx = row["idx"]
    return f"{idx['paragraph']}-{idx['question']}"


def _multirc(task: str, row: Row) -> list[Example]:
    # one binary example per answer option: is this option a correct answer to the question?
    return [
        {
            "text_a": str(row["paragraph"]),
            "text_b": f"{row['question']} {row['answer']}",
            "label": label_id(task, row["label"]),
            "group": multirc_group(row),
        }
    ]


def record_passage(passage: str) -> str:
    """ReCoRD's passage with its "@highlight" markers turned into list dashes."""
    return passage.replace("@highlight\n", "- ")


def _record(task: str, row: Row) -> list[Example]:
    # one binary example per candidate entity, substituted for @placeholder in the query
    del task
    passage = record_passage(str(row["passage"]))
    answers = [str(a) for a in row.get("answers") or []]
    idx = row["idx"]
    group = f"{idx['passage']}-{idx['query']}"
    candidates = list(dict.fromkeys(str(e) for e in row["entities"]))  # unique, in order
    return [
        {
            "text_a": passage,
            "text_b": str(row["query"]).replace("@placeholder", entity),
            "label": int(entity in answers),
            "group": group,
            "candidate": entity,
            "answers": answers,
        }
        for entity in candidates
    ]


def label_vocabulary(task: str, rows: list[Row]) -> list[str] | None:
    """A multi-label task's label names in index order, when ``rows`` give labels as strings.

    The hub stores HumSet's labels as class indices; its card lists the names alphabetically, so
    the sorted names seen in the train split are the same order.
    """
    spec = get_task(task)
    names = {v for row in rows for v in _label_list(row, task) if isinstance(v, str)}
    if not names:
        return None
    vocab = sorted(names)
    if len(vocab) != spec.num_labels:
        raise ValueError(
            f"{task}: the train split names {len(vocab)} labels, the task has {spec.num_labels}"
        )
    return vocab


def _label_list(row: Row, task: str) -> list:
    value = _field(row, task, task, "labels", "label")
    if isinstance(value, str):  # a CSV cell holding a list
        import ast

        value = ast.literal_eval(value) if value.strip().startswith("[") else [value]
    return list(value)


def _multilabel(task: str, row: Row, num_labels: int, vocab: list[str] | None) -> Example:
    hot = [0] * num_labels
    for value in _label_list(row, task):
        if isinstance(value, str):
            if vocab is None or value not in vocab:
                raise ValueError(f"{task}: label {value!r} not among the train split's labels")
            index = vocab.index(value)
        else:
            index = _check_range(task, int(value), num_labels)
        hot[index] = 1
    text = _field(row, task, "excerpt", "text", "sentence")
    return {"text_a": str(text), "text_b": None, "label": hot}


_CONVERTERS: dict[str, Callable[[str, Row], list[Example]]] = {
    "cola": _single,
    "sst2": _single,
    **{task: _pair for task in _PAIR_COLUMNS},
    "copa": _copa,
    "wic": _wic,
    "wsc": _wsc,
    "multirc": _multirc,
    "record": _record,
}
