"""Each task's input format from rows in the hub's columns, and label conventions."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATA
from tests.hub_rows import humset_rows, multirc_rows, record_rows, rows
from trainables.tasks.formats import label_id, label_vocabulary, mark_pronoun, to_examples
from trainables.tasks.registry import BENCHMARKS, get_task
from trainables.tasks.superglue_jsonl import flatten

REAL_TASKS = [t for b in ("glue", "superglue", "humset") for t in BENCHMARKS[b]]


@pytest.mark.parametrize("task", sorted(set(REAL_TASKS)))
def test_every_task_has_a_format_with_valid_labels(task):
    spec = get_task(task)
    examples = to_examples(task, rows(task, "train", 6))
    assert examples and all(isinstance(ex["text_a"], str) and ex["text_a"] for ex in examples)
    for ex in examples:
        if spec.problem_type == "multilabel":
            assert len(ex["label"]) == spec.num_labels and set(ex["label"]) <= {0, 1}
        elif spec.problem_type == "regression":
            assert isinstance(ex["label"], float)
        else:
            assert ex["label"] in range(max(spec.num_labels, 2))


def test_pair_tasks_keep_both_segments_and_rte_reads_both_benchmarks_columns():
    glue = to_examples("rte", [{"sentence1": "A", "sentence2": "B", "label": 1}])
    superglue = to_examples("rte", [{"premise": "A", "hypothesis": "B", "label": "not_entailment"}])
    assert glue == superglue == [{"text_a": "A", "text_b": "B", "label": 1, "row": 0}]
    boolq = to_examples("boolq", [{"question": "q?", "passage": "p", "label": True}])
    assert boolq == [{"text_a": "q?", "text_b": "p", "label": 1, "row": 0}]


def test_copa_is_multiple_choice_with_the_questions_connective():
    row = {"premise": "It rained.", "choice1": "I stayed in.", "choice2": "I swam."}
    cause, effect = to_examples(
        "copa",
        [{**row, "question": "cause", "label": 0}, {**row, "question": "effect", "label": 1}],
    )
    assert cause["text_a"] == "It rained. because" and effect["text_a"] == "It rained. so"
    assert cause["choices"] == ["I stayed in.", "I swam."] and "text_b" not in cause
    assert (cause["label"], effect["label"]) == (0, 1)


def test_wic_prefixes_the_word_and_wsc_marks_the_pronoun():
    (wic,) = to_examples(
        "wic", [{"word": "bank", "sentence1": "S1.", "sentence2": "S2.", "label": False}]
    )
    assert (wic["text_a"], wic["text_b"], wic["label"]) == ("bank: S1.", "bank: S2.", 0)
    (wsc,) = to_examples("wsc", rows("wsc", "train", 1))
    assert wsc["text_a"] == "Mark told Pete 0 lies because *he* was jealous ."
    assert wsc["text_b"] == "Mark"


def test_wsc_marks_the_word_at_the_given_index_as_the_official_code():
    text = "it is  what it is"
    assert mark_pronoun(text, 2) == "it is *what* it is"  # never moved to a matching word
    assert mark_pronoun(text, 0) == "*it* is what it is"
    with pytest.raises(ValueError, match="span2_index 5"):
        mark_pronoun(text, 5)


WSC_VAL = SHARED_DATA / "superglue" / "wsc" / "val.jsonl"


@pytest.mark.skipif(not WSC_VAL.is_file(), reason=f"the real WSC file is not at {WSC_VAL}")
def test_wsc_validation_row_42_keeps_its_official_mark():
    # the one row of SuperGLUE's WSC whose span2_index (30) is not at its pronoun ("it", 29)
    (record,) = [r for r in map(json.loads, WSC_VAL.read_text().splitlines()) if r["idx"] == 42]
    (example,) = to_examples("wsc", flatten("wsc", record))
    assert "want to *use* it ," in example["text_a"] and example["text_b"] == "safe"


def test_multirc_is_one_binary_example_per_answer_option_grouped_by_question():
    examples = to_examples("multirc", multirc_rows(2))
    assert len(examples) == 6
    assert [ex["group"] for ex in examples] == ["0-0"] * 3 + ["0-1"] * 3
    assert examples[0]["text_a"] == "paragraph 0"
    assert examples[0]["text_b"] == "question 0? answer 0" and examples[0]["label"] == 1


def test_record_is_one_example_per_candidate_with_the_entity_in_the_query():
    examples = to_examples("record", record_rows(1))
    assert [ex["candidate"] for ex in examples] == ["Alice", "Bob", "Paris"]
    assert [ex["label"] for ex in examples] == [0, 1, 0]
    assert examples[1]["text_b"] == "Bob went home" and examples[1]["answers"] == ["Bob"]
    assert "@highlight" not in examples[0]["text_a"] and "- A trip" in examples[0]["text_a"]
    assert len({ex["group"] for ex in examples}) == 1


def test_labels_by_index_name_boolean_digit_string_or_float():
    assert label_id("mnli", "contradiction") == 2 and label_id("qnli", "not_entailment") == 1
    assert label_id("cb", "Neutral") == 2 and label_id("mrpc", "1") == 1
    assert label_id("boolq", True) == 1 and label_id("wic", "false") == 0
    assert label_id("stsb", "3.800") == pytest.approx(3.8)
    with pytest.raises(ValueError, match="outside"):
        label_id("rte", -1)  # the hidden labels of a test split
    with pytest.raises(ValueError, match="unknown label"):
        label_id("rte", "maybe")


def test_humset_labels_become_multi_hot_rows_from_indices_or_names():
    (ex,) = to_examples("pillars_2d", [{"excerpt": "x", "pillars_2d": [0, 5]}])
    assert ex == {"text_a": "x", "text_b": None, "label": [1, 0, 0, 0, 0, 1], "row": 0}
    names = ["At Risk", "Capacities & Response", "Humanitarian Conditions", "Impact"]
    names += ["Priority Interventions", "Priority Needs"]
    named = [{"excerpt": f"e{i}", "pillars_2d": [n]} for i, n in enumerate(reversed(names))]
    vocab = label_vocabulary("pillars_2d", named)
    assert vocab == names  # sorted: the hub's class-index order
    assert to_examples("pillars_2d", named, vocab)[0]["label"] == [0, 0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="6"):
        label_vocabulary("pillars_2d", named[:3])
    assert len(to_examples("sectors", humset_rows("sectors", 4, 11))[0]["label"]) == 11


def test_superglue_nested_records_flatten_to_the_hubs_rows():
    wsc = {"text": "t", "target": {"span1_index": 0, "span2_index": 1}, "label": True, "idx": 3}
    assert flatten("wsc", wsc) == [
        {"text": "t", "label": True, "idx": 3, "span1_index": 0, "span2_index": 1}
    ]
    multirc = {
        "idx": 7,
        "passage": {
            "text": "P",
            "questions": [
                {"question": "Q", "idx": 2, "answers": [{"text": "A", "idx": 5, "label": 1}]}
            ],
        },
    }
    assert flatten("multirc", multirc) == [
        {
            "paragraph": "P",
            "question": "Q",
            "answer": "A",
            "label": 1,
            "idx": {"paragraph": 7, "question": 2, "answer": 5},
        }
    ]
    text = "Ann saw Bo. Ann left."
    record = {
        "idx": 1,
        "passage": {"text": text, "entities": [{"start": 0, "end": 2}, {"start": 8, "end": 9}]},
        "qas": [{"query": "@placeholder ran", "idx": 4, "answers": [{"text": "Bo"}]}],
    }
    (row,) = flatten("record", record)  # spans include their end character
    assert row["entities"] == ["Ann", "Bo"] and row["answers"] == ["Bo"]
    assert row["idx"] == {"passage": 1, "query": 4}
