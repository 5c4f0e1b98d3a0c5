"""The hub code path, offline: ``datasets.load_dataset(repo, config)`` answered from Parquet files
with the hub's columns and split names, written to a tmp folder."""

from __future__ import annotations

import datasets
import pytest

from tests.hub_rows import rows, write
from trainables.tasks.data import load_splits
from trainables.tasks.hub import hub_source


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """Serves {(repo, config): {split: rows}} through the real Parquet builder; records calls."""
    served: dict = {}
    calls: list = []
    real = datasets.load_dataset

    def load_dataset(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        files = {}
        for split, split_rows in served[(path, name)].items():
            target = tmp_path / path.replace("/", "_") / name / f"{split}-00000-of-00001.parquet"
            files[split] = str(write(target, split_rows))
        return real("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return served, calls


def test_glue_loads_by_repository_name_and_mnli_reports_matched(fake_hub):
    served, calls = fake_hub
    served[("nyu-mll/glue", "mnli")] = {
        "train": rows("mnli", "train", 50),
        "validation_matched": rows("mnli", "validation", 8),
        "validation_mismatched": rows("mnli", "validation", 9),
        "test_matched": [{**r, "label": -1} for r in rows("mnli", "test", 3)],
    }
    s = load_splits("mnli", {"source": "hub"})
    assert calls[0][:2] == ("nyu-mll/glue", "mnli") and calls[0][2] == {}
    assert (len(s.train), len(s.dev), len(s.test)) == (45, 5, 8)
    assert s.test[0] == {"text_a": "p 10000", "text_b": "h 10000", "label": 1, "row": 0}


def test_superglue_wsc_uses_the_official_config_and_a_spec_may_name_a_mirror(fake_hub):
    served, calls = fake_hub
    served[("aps/super_glue", "wsc")] = {
        "train": rows("wsc", "train", 20),
        "validation": rows("wsc", "validation", 4),
    }
    served[("me/mirror", "wsc.fixed")] = served[("aps/super_glue", "wsc")]
    assert len(load_splits("wsc", {"source": "hub"}).test) == 4
    mirror = {"source": "hub", "repo": "me/mirror", "config": "wsc.fixed"}
    assert len(load_splits("wsc", mirror).dev) == 2
    assert [c[:2] for c in calls] == [("aps/super_glue", "wsc"), ("me/mirror", "wsc.fixed")]


def test_humset_reads_the_parquet_branch_and_its_own_splits(fake_hub):
    served, calls = fake_hub
    served[("nlp-thedeep/humset", "1.0.0")] = {
        split: rows("sectors", split, n)
        for split, n in (("train", 30), ("validation", 6), ("test", 7))
    }
    s = load_splits("sectors", {"source": "hub"})
    assert calls[0][2] == {"revision": "refs/convert/parquet"}
    assert (len(s.train), len(s.dev), len(s.test)) == (30, 6, 7)
    assert len(s.train[0]["label"]) == 11
    assert hub_source("sectors", {"revision": "main"}) == ("nlp-thedeep/humset", "1.0.0", "main")


def test_a_missing_split_is_named(fake_hub):
    served, _ = fake_hub
    served[("nyu-mll/glue", "rte")] = {"train": rows("rte", "train", 10)}
    with pytest.raises(KeyError, match="validation"):
        load_splits("rte", {"source": "hub"})
