"""Sweep files: YAML in, a typed and validated ``SweepSpec`` out.

Every problem of a file is collected and reported at once, each naming the file, the key path and
what would be right, so a user fixes a sweep in one pass and before any trial starts. The YAML is
read strictly (``orchestrator.sweep.yaml_loader``: duplicate keys, nesting, aliases, encoding).
``read_spec`` returns the problems with a spec of the file's valid parts, so later checks (sources,
data, plan size: ``orchestrator.planning.preflight``) can add theirs to the same report.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.contract import hparams as hp
from orchestrator.contract.methods import DEFAULT_SOURCE_METHOD, METHODS, Kind, methods_of_kind
from orchestrator.problems import InputError, Problem
from orchestrator.sweep.backbone import check_backbone
from orchestrator.sweep.checks import (
    MAX_RETRIES,
    MAX_SEED,
    Checker,
    is_int,
    not_read,
    not_read_by_any,
    show,
)
from orchestrator.sweep.fewshot import FewShotSpec, parse_fewshot
from orchestrator.sweep.probing import ProbingSpec, parse_probing
from orchestrator.sweep.search import SearchSpec, parse_search
from orchestrator.sweep.yaml_loader import YamlFileError
from orchestrator.sweep.yaml_loader import load as load_yaml
from trainables import backbone_ref
from trainables.backbone_ref import BackboneRef
from trainables.tasks.registry import BENCHMARKS, TASKS

DATA_SOURCES = ("hub", "local", "synthetic")
DATA_KEYS = {"source", "dir", "seed", "n_train", "n_test", "k", "repo", "config", "revision"}
TOP_KEYS = {
    "sweep",
    "description",
    "backbone",
    "benchmarks",
    "training",
    "methods",
    "sources",
    "resources",
    "retries",
    "fewshot",
    "probing",
    "scope",
}
# What stage two and the joint runs span: each benchmark on its own, or every task of the sweep
# as one pool (the paper's GLUE + SuperGLUE setting).
SCOPES = ("benchmark", "sweep")
BENCHMARK_KEYS = {"tasks", "seeds", "task_seeds", "data", "task_data"}
METHOD_EXTRA_KEYS = {"seeds", "per_task", "per_benchmark", "resources", "search"}
SOURCES_KEYS = {"method", "seed"}
# A hub data set id ('nyu-mll/glue'; the hub's own rule: letters, digits, '-', '_', '.').
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")


class SpecError(InputError):
    """A sweep file with problems; ``problems`` lists them all as 'key.path: message'."""

    def __init__(self, path: str, problems: list[str] | list[Problem]):
        self.path = path
        super().__init__([p if isinstance(p, Problem) else Problem(path, "", p) for p in problems])


@dataclass
class BenchmarkSpec:
    """One benchmark of a sweep: its tasks, seeds per task and data spec per task."""

    name: str
    tasks: list[str]
    seeds: dict[str, list[int]]
    data: dict[str, dict]
    data_keys: dict[str, str] = field(default_factory=dict)  # task -> where its data is given


@dataclass
class MethodSpec:
    """One method of a sweep with its overrides."""

    name: str
    kind: Kind
    hparams: dict
    seeds: list[int] | None = None
    per_task: dict[str, dict] = field(default_factory=dict)
    per_benchmark: dict[str, dict] = field(default_factory=dict)
    resources: dict | None = None
    # ``search:`` blocks: the method's own and per-task / per-benchmark ones, which win
    search: SearchSpec | None = None
    search_per_task: dict[str, SearchSpec] = field(default_factory=dict)
    search_per_benchmark: dict[str, SearchSpec] = field(default_factory=dict)


@dataclass
class SweepSpec:
    """A validated sweep file."""

    name: str
    path: str
    backbone: str
    benchmarks: dict[str, BenchmarkSpec]
    training: dict
    methods: dict[str, MethodSpec]
    source_method: str = DEFAULT_SOURCE_METHOD
    source_seed: int = 0
    resources: dict = field(default_factory=lambda: {"cpu": 1, "gpu": 0})
    retries: int = 1
    description: str = ""
    fewshot: FewShotSpec | None = None  # a few-shot sweep (orchestrator.sweep.fewshot)
    probing: ProbingSpec | None = None  # a probing sweep (orchestrator.sweep.probing)
    scope: str = "benchmark"  # one of SCOPES
    # what ``backbone`` names (its form, identity, config); None when built without a file
    backbone_ref: BackboneRef | None = None

    @property
    def pooled(self) -> bool:
        """Whether stage two and the joint runs pool every task of the sweep."""
        return self.scope == "sweep"

    @property
    def pool(self) -> str:
        """The name of the pool of all the sweep's benchmarks (``glue+superglue``): the benchmark
        of a pooled node."""
        return "+".join(self.benchmarks)

    def tasks_of(self, benchmark: str) -> list[str]:
        """The tasks of one of the sweep's benchmarks, or of its pool."""
        if benchmark == self.pool and benchmark not in self.benchmarks:
            return self.tasks
        return self.benchmarks[benchmark].tasks

    @property
    def tasks(self) -> list[str]:
        """Every task of the sweep once, in the benchmarks' order (SuperGLUE's RTE is GLUE's)."""
        return list(dict.fromkeys(t for b in self.benchmarks.values() for t in b.tasks))

    def benchmark_of(self, task: str) -> str:
        """The first of the sweep's benchmarks that lists ``task``."""
        return next(b for b, spec in self.benchmarks.items() if task in spec.tasks)

    def hparams(self, method: str, benchmark: str, task: str | None) -> dict:
        """The resolved hyperparameters of ``method`` on ``task`` (or a joint node's benchmark):
        the keys it reads, and no other, so a key of another method never moves its id."""
        m = self.methods.get(method)
        resolved = hp.defaults(method)
        resolved.update(METHODS[method].defaults)
        resolved.update(self.training)
        if m is not None:
            resolved.update(m.hparams)
            resolved.update(m.per_benchmark.get(benchmark, {}))
            if task is not None:
                resolved.update(m.per_task.get(task, {}))
        # ``training`` holds keys for whichever of the sweep's methods read them
        resolved = hp.read_by(method, resolved)
        if resolved["max_length"] is None:
            # null is the task's own length; a joint node whose tasks differ in it keeps null,
            # so each task keeps its own (SuperGLUE: 128, MultiRC 324, ReCoRD 256)
            tasks = [task] if task else self.tasks_of(benchmark)
            lengths = {TASKS[t].max_length for t in tasks}
            if len(lengths) == 1:
                resolved["max_length"] = lengths.pop()
        return resolved

    def search_for(self, method: str, benchmark: str, task: str | None) -> SearchSpec | None:
        """The search that decides ``method``'s hyperparameters on ``task``, if any."""
        m = self.methods.get(method)
        if m is None:
            return None
        if task is not None and task in m.search_per_task:
            return m.search_per_task[task]
        return m.search_per_benchmark.get(benchmark, m.search)

    def method_resources(self, method: str) -> dict:
        """The resources one trial of ``method`` asks for."""
        res = dict(self.resources)
        m = self.methods.get(method)
        if m is not None and m.resources:
            res.update(m.resources)
        return res


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep file; raises SpecError naming every problem."""
    spec, found = read_spec(path)
    if found:
        raise SpecError(str(path), found)
    return spec


def read_spec(path: str | os.PathLike) -> tuple[SweepSpec | None, list[Problem]]:
    """Read a sweep file: its spec and every problem found in it.

    With problems, the spec holds the file's valid parts only (None when the file cannot be read
    as a mapping at all): enough for later checks to find their own problems, never to run.
    """
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return None, [Problem(path, "", f"cannot read the file: {e.strerror or e}")]
    try:
        raw, duplicates = load_yaml(data)
    except YamlFileError as e:
        return None, [Problem(path, "", e.message)]
    c = Checker()
    for key, message in duplicates:
        c.add(key, message)
    spec = check_spec(c, raw, path)
    return spec, c.found(path)


def parse_spec(raw: Any, path: str = "<sweep>") -> SweepSpec:
    """Validate an already parsed sweep document; raises SpecError naming every problem."""
    c = Checker()
    spec = check_spec(c, raw, path)
    if c.problems:
        raise SpecError(path, c.found(path))
    return spec


def check_spec(c: Checker, raw: Any, path: str = "<sweep>") -> SweepSpec | None:
    """The spec of a parsed sweep document, its problems added to ``c``; with problems, a spec of
    the valid parts (None when ``raw`` is no mapping)."""
    if not isinstance(raw, dict):
        c.add("", f"the file must be a mapping of keys, got {show(raw)}")
        return None
    _check_top_keys(c, raw)
    name, backbone = _name_and_backbone(c, raw)
    training = c.hparams(c.mapping(raw.get("training"), "training") or {}, "training")
    base_dir = Path(path).parent if path != "<sweep>" else Path.cwd()
    benchmarks = _parse_benchmarks(c, raw.get("benchmarks"), base_dir)
    methods = _parse_methods(c, raw.get("methods"), benchmarks)
    source_method, source_seed = _parse_sources(c, raw)
    resources = {"cpu": 1, "gpu": 0}
    resources.update(c.resources(raw.get("resources"), "resources") or {})
    retries, scope = _retries_and_scope(c, raw, benchmarks)
    description = raw.get("description", "")
    tasks = list(dict.fromkeys(t for b in benchmarks.values() for t in b.tasks))
    fewshot, probing = _experiment(c, raw, methods, tasks)
    _check_readers(c, training, methods, source_method)
    if fewshot is not None:
        _check_read_by(c, "fewshot.sources", fewshot.sources, source_method)
    if probing is not None:
        _check_read_by(c, "probing.source_training", probing.source_training, source_method)
    ref = None
    if isinstance(backbone, str) and backbone:
        ref = check_backbone(c, backbone, base_dir, methods, tasks, source_method)

    return SweepSpec(
        name=name,
        path=path,
        backbone=ref.uri if ref is not None else backbone,
        benchmarks=benchmarks,
        training=training,
        methods=methods,
        source_method=source_method,
        source_seed=source_seed,
        resources=resources,
        retries=retries,
        description=str(description or ""),
        fewshot=fewshot,
        probing=probing,
        scope=scope,
        # a backbone with problems: the tiny one stands in, so the rest can still be planned
        backbone_ref=ref if ref is not None else backbone_ref.parse(backbone_ref.TINY),
    )


def _check_top_keys(c: Checker, raw: dict) -> None:
    """The file's top-level keys: known ones, the four a sweep needs, no stray preset."""
    if hp.NUMERICS_KEY in raw:
        c.add(
            hp.NUMERICS_KEY,
            "a preset of hyperparameters: put it in training (the whole sweep) or in a "
            "method's block, e.g. training: {numerics: reference}",
        )
    c.known_keys({k: v for k, v in raw.items() if k != hp.NUMERICS_KEY}, TOP_KEYS, "")
    for k in ("sweep", "backbone", "benchmarks", "methods"):
        if k not in raw:
            c.add(k, "missing; a sweep needs sweep, backbone, benchmarks and methods")


def _name_and_backbone(c: Checker, raw: dict) -> tuple[str, Any]:
    """The sweep's name and its backbone as written ('' where missing or malformed)."""
    name = raw.get("sweep", "")
    if "sweep" in raw and (
        not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum()
    ):
        c.add("sweep", f"expected a name of letters, digits, '-' and '_', got {show(name)}")
        name = ""
    backbone = raw.get("backbone", "")
    if "backbone" in raw and (not isinstance(backbone, str) or not backbone):
        c.add(
            "backbone",
            "expected a backbone: a name such as 'roberta-base', a hub id 'org/name[@revision]' "
            f"or a checkpoint folder, got {show(backbone)}",
        )
        backbone = ""
    return name, backbone


def _parse_sources(c: Checker, raw: dict) -> tuple[str, int]:
    """The ``sources`` block: the stage-one method and seed whose adapters stage two scales."""
    sources = c.mapping(raw.get("sources"), "sources") or {}
    c.known_keys(sources, SOURCES_KEYS, "sources")
    source_method = sources.get("method", DEFAULT_SOURCE_METHOD)
    if (
        not isinstance(source_method, str)
        or METHODS.get(source_method, None) is None
        or (METHODS[source_method].kind != Kind.STL)
    ):
        stl = methods_of_kind(Kind.STL)
        c.add(
            "sources.method",
            f"expected a stage-one method ({', '.join(stl)}), got {show(source_method)}",
        )
        source_method = DEFAULT_SOURCE_METHOD
    source_seed = sources.get("seed", 0)
    if not c.seed(source_seed, "sources.seed"):
        source_seed = 0
    return source_method, source_seed


def _retries_and_scope(c: Checker, raw: dict, benchmarks: dict) -> tuple[int, str]:
    """How often a failed trial is retried, and what stage two and the joint runs span."""
    retries = raw.get("retries", 1)
    if not is_int(retries) or not 0 <= retries <= MAX_RETRIES:
        c.add("retries", f"expected an integer in [0, {MAX_RETRIES}], got {show(retries)}")
        retries = 1
    scope = raw.get("scope", SCOPES[0])
    if scope not in SCOPES:
        c.add("scope", f"expected one of {', '.join(SCOPES)}, got {show(scope)}")
        scope = SCOPES[0]
    elif scope == "sweep" and len(benchmarks) < 2:
        c.add("scope", "'sweep' pools the tasks of several benchmarks; this sweep has one")
        scope = SCOPES[0]
    return retries, scope


def _experiment(
    c: Checker, raw: dict, methods: dict, tasks: list[str]
) -> tuple[FewShotSpec | None, ProbingSpec | None]:
    """The ``fewshot`` or ``probing`` block, if the sweep has one."""
    fewshot = parse_fewshot(c, raw["fewshot"], methods) if "fewshot" in raw else None
    before = len(c.keys())
    probing = parse_probing(c, raw["probing"], tasks) if "probing" in raw else None
    _check_probing_methods(c, probing, methods, fewshot)
    if len(c.keys()) > before:
        probing = None  # with problems, no probing plan: the rest of the file is still checked
    return fewshot, probing


def _check_readers(c: Checker, training: dict, methods: dict, source_method: str) -> None:
    """``training`` applies to every method the sweep trains (its methods, and the source method
    where it has transfer methods): a key none of them reads is a problem, and dropped."""
    trained = list(methods)
    if any(m.kind == Kind.TRANSFER for m in methods.values()) and source_method not in trained:
        trained.append(source_method)
    if not trained:
        return  # no valid method: nothing to say what training is for
    for key in list(training):
        if not any(hp.reads(m, key) for m in trained):
            c.add(f"training.{key}", not_read_by_any(key, trained))
            del training[key]


def _check_read_by(c: Checker, block: str, values: dict, method: str) -> None:
    """The keys of ``block``, which sets ``method``'s hyperparameters (the source adapters'):
    one it does not read is a problem, and dropped."""
    for key in list(values):
        if not hp.reads(method, key):
            c.add(f"{block}.{key}", not_read(key, method))
            del values[key]


def _check_probing_methods(c: Checker, probing, methods: dict, fewshot) -> None:
    """A probing sweep runs its probe method alone; the probe method needs a probing block."""
    probes = [m for m in methods if METHODS[m].kind == Kind.PROBE]
    if probing is None:
        for m in probes:
            c.add(f"methods.{m}", "probing needs a probing block (sources, omegas): add one")
        return
    if fewshot is not None:
        c.add("probing", "a sweep is either a few-shot sweep or a probing sweep, not both")
    if not probes:
        probe = methods_of_kind(Kind.PROBE)[0]
        c.add("methods", f"a probing sweep needs the method {probe!r} (its lr and epochs)")
    for m in methods:
        if m not in probes:
            c.add(
                f"methods.{m}",
                "a probing sweep trains probes only; its source adapters are planned from "
                "probing.source_training",
            )


def _parse_benchmarks(c: Checker, raw: Any, base_dir: Path) -> dict[str, BenchmarkSpec]:
    raw = c.mapping(raw, "benchmarks")
    if raw is None:
        return {}
    if not raw:
        c.add("benchmarks", "no benchmark given; e.g. benchmarks: {glue: {seeds: [0]}}")
    out = {}
    for bname, braw in raw.items():
        key = f"benchmarks.{bname}"
        if bname not in BENCHMARKS:
            c.add(key, f"unknown benchmark; known: {', '.join(sorted(BENCHMARKS))}")
            continue
        braw = c.mapping(braw, key)
        if braw is None:
            continue
        c.known_keys(braw, BENCHMARK_KEYS, key)
        known = BENCHMARKS[bname]
        tasks = braw.get("tasks", list(known))
        if not isinstance(tasks, list) or not tasks:
            c.add(f"{key}.tasks", f"expected a non-empty list of tasks, got {show(tasks)}")
            continue
        bad = [t for t in tasks if t not in known]
        for t in bad:
            c.add(f"{key}.tasks", f"unknown task {t!r} for {bname}; known: {', '.join(known)}")
        tasks = [t for t in known if t in tasks]  # the paper's order
        seeds_raw = braw.get("seeds")
        if seeds_raw is None:
            c.add(f"{key}.seeds", "missing; give the seeds to run, e.g. seeds: [0, 1, 2]")
            default_seeds = [0]
        else:
            default_seeds = c.seeds(seeds_raw, f"{key}.seeds") or [0]
        seeds = {t: default_seeds for t in tasks}
        task_seeds = c.mapping(braw.get("task_seeds"), f"{key}.task_seeds") or {}
        for t, s in task_seeds.items():
            if t not in tasks:
                c.add(
                    f"{key}.task_seeds.{t}", f"not a task of this sweep; tasks: {', '.join(tasks)}"
                )
                continue
            seeds[t] = c.seeds(s, f"{key}.task_seeds.{t}") or default_seeds
        data = c.mapping(braw.get("data"), f"{key}.data") or {}
        task_data = c.mapping(braw.get("task_data"), f"{key}.task_data") or {}
        per_task, data_keys = {}, {}
        for t in tasks:
            merged = dict(data)
            merged.update(c.mapping(task_data.get(t), f"{key}.task_data.{t}") or {})
            where = f"{key}.task_data.{t}" if t in task_data else f"{key}.data"
            per_task[t] = _check_data(c, merged, where, bname, t, base_dir)
            data_keys[t] = where
        for t in task_data:
            if t not in tasks:
                c.add(
                    f"{key}.task_data.{t}", f"not a task of this sweep; tasks: {', '.join(tasks)}"
                )
        out[bname] = BenchmarkSpec(bname, tasks, seeds, per_task, data_keys)
    return out


def _check_data(
    c: Checker, data: dict, key: str, benchmark: str, task: str, base_dir: Path
) -> dict:
    """The data spec of ``task``; with problems (each listing the tasks it concerns), a stand-in
    that plans but never runs."""
    problems = []

    def bad(k: str, message: str) -> None:
        problems.append(k)
        c.add(k, message, task=task)

    for k in data:
        if k not in DATA_KEYS:
            problems.append(k)
            c.unknown_key(f"{key}.{k}", k, DATA_KEYS, task=task)
    default_source = "synthetic" if benchmark == "synthetic" else "hub"
    source = data.get("source", default_source)
    out = {k: v for k, v in data.items() if k in DATA_KEYS}
    out["source"] = source
    if source not in DATA_SOURCES:
        bad(f"{key}.source", f"expected one of {', '.join(DATA_SOURCES)}, got {show(source)}")
        return {"source": default_source}
    if source == "local":
        d = data.get("dir")
        if not isinstance(d, str) or not d:
            bad(
                f"{key}.dir",
                "missing; a local data source needs dir: PATH (relative to the sweep file)",
            )
            return {"source": default_source}
        resolved = Path(os.path.expandvars(os.path.expanduser(d)))
        if not resolved.is_absolute():
            resolved = (base_dir / resolved).resolve()
        if not resolved.is_dir():
            bad(
                f"{key}.dir",
                f"no such directory: {resolved} (relative paths start at the sweep file's folder)",
            )
        out["dir"] = str(resolved)
    if source == "synthetic" and benchmark != "synthetic":
        bad(
            f"{key}.source",
            f"'synthetic' data exists only for the synthetic benchmark, not {benchmark}",
        )
    if source == "hub":
        _check_hub(data, key, base_dir, bad)
    for k in ("seed", "n_train", "n_test", "k"):
        if k in data:
            v = data[k]
            limit = MAX_SEED if k == "seed" else hp.MAX_INT
            ok = is_int(v) and (0 if k == "seed" else 1) <= v <= limit
            if not ok:
                what = f"a seed in [0, {MAX_SEED}]" if k == "seed" else "a positive integer"
                bad(f"{key}.{k}", f"expected {what}, got {show(v)}")
    return {"source": default_source} if problems else out


def _check_hub(data: dict, key: str, base_dir: Path, bad) -> None:
    """A hub data spec's repository (an id such as 'nyu-mll/glue', or a local copy), config and
    revision (names of the hub)."""
    repo = data.get("repo")
    if repo is not None:
        local = isinstance(repo, str) and (Path(repo).is_dir() or (base_dir / repo).is_dir())
        if not isinstance(repo, str) or not (HUB_ID.fullmatch(repo) or local):
            bad(
                f"{key}.repo",
                f"expected a hub data set id such as 'nyu-mll/glue' (letters, digits, '-', '_', "
                f"'.'; one '/') or a local folder, got {show(repo)}",
            )
    for k, example in (("config", "'rte'"), ("revision", "a branch, tag or commit")):
        v = data.get(k)
        if v is not None and (not isinstance(v, str) or not v.strip()):
            bad(f"{key}.{k}", f"expected a string ({example}), got {show(v)}")


def _parse_methods(
    c: Checker, raw: Any, benchmarks: dict[str, BenchmarkSpec]
) -> dict[str, MethodSpec]:
    raw = c.mapping(raw, "methods")
    if raw is None:
        return {}
    if not raw:
        c.add("methods", "no method given; e.g. methods: {adapter: {lr: 3.0e-4}}")
    out = {}
    for mname, mraw in raw.items():
        key = f"methods.{mname}"
        if mname not in METHODS:
            hint = difflib.get_close_matches(str(mname), sorted(METHODS), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(METHODS)}"
            c.add(key, f"unknown method; {fix}")
            continue
        mraw = c.mapping(mraw, key)
        if mraw is None:
            continue
        out[mname] = _parse_method(c, mname, mraw, benchmarks)
    return out


def _parse_method(
    c: Checker, mname: str, mraw: dict, benchmarks: dict[str, BenchmarkSpec]
) -> MethodSpec:
    """One method's block; each of its hyperparameter blocks holds only keys the method reads."""
    key = f"methods.{mname}"
    all_tasks = sorted({t for b in benchmarks.values() for t in b.tasks})
    hparams = c.hparams(mraw, key, extra=METHOD_EXTRA_KEYS, reader=mname)
    seeds = c.seeds(mraw["seeds"], f"{key}.seeds") if "seeds" in mraw else None
    per_task, search_per_task = _overrides(
        c,
        mname,
        mraw.get("per_task"),
        f"{key}.per_task",
        all_tasks,
        "not a task of this sweep; the tasks of its benchmarks: " + ", ".join(all_tasks),
    )
    per_benchmark, search_per_benchmark = _overrides(
        c,
        mname,
        mraw.get("per_benchmark"),
        f"{key}.per_benchmark",
        list(benchmarks),
        f"not a benchmark of this sweep; benchmarks: {', '.join(benchmarks)}",
    )
    resources = c.resources(mraw["resources"], f"{key}.resources") if "resources" in mraw else None
    search = _search(c, mname, mraw["search"], f"{key}.search") if "search" in mraw else None
    return MethodSpec(
        mname,
        METHODS[mname].kind,
        hparams,
        seeds,
        per_task,
        per_benchmark,
        resources,
        search,
        search_per_task,
        search_per_benchmark,
    )


def _overrides(
    c: Checker, mname: str, raw: Any, key: str, known: list[str], unknown: str
) -> tuple[dict[str, dict], dict[str, SearchSpec | None]]:
    """A method's ``per_task`` or ``per_benchmark`` block: the hyperparameters and the search of
    each task or benchmark it names (``unknown``: what is wrong with a name not in ``known``)."""
    values, searches = {}, {}
    for name, v in (c.mapping(raw, key) or {}).items():
        if name not in known:
            c.add(f"{key}.{name}", unknown)
        v = c.mapping(v, f"{key}.{name}") or {}
        values[name] = c.hparams(v, f"{key}.{name}", extra={"search"}, reader=mname)
        if "search" in v:
            searches[name] = _search(c, mname, v["search"], f"{key}.{name}.search")
    return values, searches


def _search(c: Checker, mname: str, raw: Any, key: str) -> SearchSpec | None:
    """A ``search:`` block of ``mname``'s: a key the method does not read is a problem, and is
    not searched (a sample would train the same model as another)."""
    search = parse_search(c, raw, key, set(hp.SWEEP_KEYS))
    if search is not None:
        for name in list(search.space):
            if not hp.reads(mname, name):
                c.add(f"{key}.space.{name}", not_read(name, mname))
                del search.space[name]
    return search
