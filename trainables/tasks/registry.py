"""What every task is: benchmark, input shape, labels, problem type, metrics, sizes.

Pure data and no heavy imports, so the planner on a head node can read it without torch.
Sizes are the official split sizes; they feed the cost model and the data checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# problem types
CLASSIFICATION = "classification"
REGRESSION = "regression"
MULTILABEL = "multilabel"
MULTIPLE_CHOICE = "multiple_choice"


@dataclass(frozen=True)
class TaskSpec:
    """One task: how its examples look, what is predicted and how it is scored."""

    name: str
    benchmark: str
    input_kind: str  # single | pair | multiple_choice | span | options | humset
    problem_type: str
    num_labels: int
    metrics: tuple[str, ...]
    train_size: int  # rows of the official train split
    test_size: int  # rows of the split reported as test (the official validation split)
    max_length: int = 128
    label_names: tuple[str, ...] = ()
    hub: tuple[str, str] | None = None  # (repository, config) on the hub
    stratify: bool = True  # the 90/10 train/dev split is stratified by label
    also_in: tuple[str, ...] = field(default=())  # other benchmarks that use this task
    # metrics kept in a row's metrics but not in its score (MultiRC's and ReCoRD's exact match)
    logged: tuple[str, ...] = ()
    # what ``select: score`` picks the best evaluation by; None: the score. The official few-shot
    # scripts' metric_for_best_model: STS-B Pearson, MRPC / QQP / CB accuracy.
    select_metric: str | None = None
    # how a sentence pair is cut to max_length (the tokenizer's truncation strategy)
    truncation: str = "longest_first"
    # joint runs: the task's sampling weight and the rows it draws from are capped at this
    # (the official SuperGLUE joint scripts' --downsample_last_dataset 100730 for ReCoRD)
    joint_rows: int | None = None


_TASKS: list[TaskSpec] = [
    # GLUE
    TaskSpec(
        "cola",
        "glue",
        "single",
        CLASSIFICATION,
        2,
        ("matthews_correlation",),
        8551,
        1043,
        label_names=("unacceptable", "acceptable"),
        hub=("nyu-mll/glue", "cola"),
    ),
    TaskSpec(
        "sst2",
        "glue",
        "single",
        CLASSIFICATION,
        2,
        ("accuracy",),
        67349,
        872,
        label_names=("negative", "positive"),
        hub=("nyu-mll/glue", "sst2"),
    ),
    TaskSpec(
        "mrpc",
        "glue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy", "f1"),
        3668,
        408,
        label_names=("not_equivalent", "equivalent"),
        hub=("nyu-mll/glue", "mrpc"),
        select_metric="accuracy",
    ),
    TaskSpec(
        "qqp",
        "glue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy", "f1"),
        363846,
        40430,
        label_names=("not_duplicate", "duplicate"),
        hub=("nyu-mll/glue", "qqp"),
        select_metric="accuracy",
    ),
    TaskSpec(
        "stsb",
        "glue",
        "pair",
        REGRESSION,
        1,
        ("pearson", "spearman"),
        5749,
        1500,
        hub=("nyu-mll/glue", "stsb"),
        stratify=False,
        select_metric="pearson",
    ),
    TaskSpec(
        "mnli",
        "glue",
        "pair",
        CLASSIFICATION,
        3,
        ("accuracy",),
        392702,
        9815,
        label_names=("entailment", "neutral", "contradiction"),
        hub=("nyu-mll/glue", "mnli"),
    ),
    TaskSpec(
        "qnli",
        "glue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy",),
        104743,
        5463,
        label_names=("entailment", "not_entailment"),
        hub=("nyu-mll/glue", "qnli"),
    ),
    TaskSpec(
        "rte",
        "glue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy",),
        2490,
        277,
        label_names=("entailment", "not_entailment"),
        hub=("nyu-mll/glue", "rte"),
        also_in=("superglue",),
    ),
    # SuperGLUE (its RTE is GLUE's, registered above)
    TaskSpec(
        "boolq",
        "superglue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy",),
        9427,
        3270,
        label_names=("false", "true"),
        hub=("aps/super_glue", "boolq"),
    ),
    TaskSpec(
        "cb",
        "superglue",
        "pair",
        CLASSIFICATION,
        3,
        ("accuracy", "macro_f1"),
        250,
        56,
        label_names=("entailment", "contradiction", "neutral"),
        hub=("aps/super_glue", "cb"),
        stratify=False,
        select_metric="accuracy",
    ),
    TaskSpec(
        "copa",
        "superglue",
        "multiple_choice",
        MULTIPLE_CHOICE,
        2,
        ("accuracy",),
        400,
        100,
        label_names=("choice1", "choice2"),
        hub=("aps/super_glue", "copa"),
    ),
    TaskSpec(
        "multirc",
        "superglue",
        "options",
        CLASSIFICATION,
        2,
        ("f1a",),
        27243,
        4848,
        max_length=324,
        label_names=("false", "true"),
        hub=("aps/super_glue", "multirc"),
        logged=("exact_match",),
    ),
    TaskSpec(
        "record",
        "superglue",
        "span",
        CLASSIFICATION,
        2,
        ("f1",),
        100730,
        10000,
        max_length=256,
        hub=("aps/super_glue", "record"),
        stratify=False,
        logged=("exact_match",),
        truncation="only_first",  # the passage only, never the query (the official code)
        joint_rows=100730,
    ),
    TaskSpec(
        "wic",
        "superglue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy",),
        5428,
        638,
        label_names=("false", "true"),
        hub=("aps/super_glue", "wic"),
    ),
    TaskSpec(
        "wsc",
        "superglue",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy",),
        554,
        104,
        label_names=("false", "true"),
        hub=("aps/super_glue", "wsc"),  # the official code's config, not wsc.fixed
    ),
    # HumSet (multi-label; the hub's version 1.0.0 with its own train/validation/test splits;
    # each task's labels are the column named like the task, all read from one dataset)
    TaskSpec(
        "sectors",
        "humset",
        "single",
        MULTILABEL,
        11,
        ("macro_f1",),
        117435,
        15147,
        hub=("nlp-thedeep/humset", "1.0.0"),
    ),
    TaskSpec(
        "pillars_1d",
        "humset",
        "single",
        MULTILABEL,
        7,
        ("macro_f1",),
        117435,
        15147,
        hub=("nlp-thedeep/humset", "1.0.0"),
    ),
    TaskSpec(
        "subpillars_1d",
        "humset",
        "single",
        MULTILABEL,
        33,
        ("macro_f1",),
        117435,
        15147,
        hub=("nlp-thedeep/humset", "1.0.0"),
    ),
    TaskSpec(
        "pillars_2d",
        "humset",
        "single",
        MULTILABEL,
        6,
        ("macro_f1",),
        117435,
        15147,
        hub=("nlp-thedeep/humset", "1.0.0"),
    ),
    TaskSpec(
        "subpillars_2d",
        "humset",
        "single",
        MULTILABEL,
        18,
        ("macro_f1",),
        117435,
        15147,
        hub=("nlp-thedeep/humset", "1.0.0"),
    ),
    # The synthetic benchmark that ships in code (trainables.tasks.synthetic generates it)
    TaskSpec(
        "syn_sentiment",
        "synthetic",
        "single",
        CLASSIFICATION,
        2,
        ("accuracy",),
        600,
        200,
        max_length=32,
        label_names=("negative", "positive"),
    ),
    TaskSpec(
        "syn_topic",
        "synthetic",
        "single",
        CLASSIFICATION,
        4,
        ("accuracy", "macro_f1"),
        600,
        200,
        max_length=32,
    ),
    TaskSpec(
        "syn_paraphrase",
        "synthetic",
        "pair",
        CLASSIFICATION,
        2,
        ("accuracy", "f1"),
        600,
        200,
        max_length=48,
    ),
    TaskSpec(
        "syn_similarity",
        "synthetic",
        "pair",
        REGRESSION,
        1,
        ("pearson", "spearman"),
        600,
        200,
        max_length=48,
        stratify=False,
    ),
]

TASKS: dict[str, TaskSpec] = {t.name: t for t in _TASKS}

# The paper's column order for each benchmark.
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "glue": ("mnli", "qqp", "qnli", "sst2", "stsb", "mrpc", "rte", "cola"),
    "superglue": ("record", "multirc", "boolq", "wic", "wsc", "rte", "cb", "copa"),
    "humset": ("sectors", "pillars_1d", "subpillars_1d", "pillars_2d", "subpillars_2d"),
    "synthetic": ("syn_sentiment", "syn_topic", "syn_paraphrase", "syn_similarity"),
}


def get_task(name: str) -> TaskSpec:
    """The task called ``name``; KeyError names the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}") from None


def headline_score(task: str, metrics: dict) -> float | None:
    """The task's score from its metrics: the mean of its tabulated metrics (0-100), None when
    one is missing. Rows rebuilt from stored metrics are scored by this, the same as the loop."""
    values = [metrics.get(name) for name in get_task(task).metrics]
    if not values or any(v is None for v in values):
        return None
    return sum(float(v) for v in values) / len(values)


def selection_value(task: str, metrics: dict) -> float:
    """What ``select: score`` compares for ``task``: its ``select_metric``, else its score."""
    name = get_task(task).select_metric or "score"
    return float(metrics[name])


def benchmark_tasks(benchmark: str) -> tuple[str, ...]:
    """The tasks of a benchmark in the paper's order."""
    try:
        return BENCHMARKS[benchmark]
    except KeyError:
        raise KeyError(
            f"unknown benchmark {benchmark!r}; known: {', '.join(sorted(BENCHMARKS))}"
        ) from None


# How the paper's tables name the tasks.
_DISPLAY = {
    "cola": "CoLA",
    "sst2": "SST-2",
    "mrpc": "MRPC",
    "qqp": "QQP",
    "stsb": "STS-B",
    "mnli": "MNLI",
    "qnli": "QNLI",
    "rte": "RTE",
    "boolq": "BoolQ",
    "cb": "CB",
    "copa": "COPA",
    "multirc": "MultiRC",
    "record": "ReCoRD",
    "wic": "WiC",
    "wsc": "WSC",
    "sectors": "Sectors",
    "pillars_1d": "Pillars 1D",
    "subpillars_1d": "Subpillars 1D",
    "pillars_2d": "Pillars 2D",
    "subpillars_2d": "Subpillars 2D",
}


def display_name(task: str) -> str:
    """The task's name as the paper's tables print it."""
    return _DISPLAY.get(task, task)
