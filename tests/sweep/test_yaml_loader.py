"""Sweep files are read strictly: duplicate keys, deep nesting, alias bombs and bad bytes are
exit-2 problems naming where they are, never a silent last-one-wins or a traceback."""

from __future__ import annotations

import textwrap

import pytest

from orchestrator.__main__ import main
from orchestrator.sweep.spec import SpecError, load_spec

HEAD = """\
sweep: s
backbone: tiny-roberta
benchmarks:
  synthetic: {seeds: [0]}
"""


def plan(tmp_path, capsys, content: bytes | str) -> tuple[int, str]:
    """``plan`` of a sweep file with ``content``, in process: (exit status, stderr)."""
    p = tmp_path / "sweep.yaml"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    rc = main(["plan", str(p), "--store", str(tmp_path / "store")])
    return rc, capsys.readouterr().err


def test_a_second_methods_block_is_a_problem_naming_both_lines(tmp_path, capsys):
    text = HEAD + textwrap.dedent(
        """\
        methods:
          adapter: {lr: 1.0e-3}
          full_ft: {lr: 1.0e-4}
        training: {epochs: 2}
        methods:
          scalearn: {lr: 1.0e-2}
        """
    )
    rc, err = plan(tmp_path, capsys, text)
    assert rc == 2
    assert "methods: duplicate key at line 9 (first at line 5)" in err
    assert "Traceback" not in err


def test_a_doubled_lr_names_its_key_path_and_both_columns(tmp_path):
    p = tmp_path / "s.yaml"
    line = "  adapter: {lr: 1.0e-3, epochs: 2, lr: 3.0e-3}"
    p.write_text(HEAD + "methods:\n" + line + "\n")
    first, second = line.index("lr") + 1, line.rindex("lr") + 1
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert e.value.problems == [
        f"methods.adapter.lr: duplicate key at line 6, column {second} (first at line 6, "
        f"column {first}); YAML keeps only the last, so the first would be silently dropped: "
        "keep one"
    ]


def test_every_duplicate_is_reported_with_the_other_problems(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(
        HEAD
        + "training: {epochs: 2, epochs: 3}\n"
        + "methods:\n  adapter:\n    lr: -1.0\n    patience: 2\n    patience: 3\n"
    )
    with pytest.raises(SpecError) as e:
        load_spec(p)
    text = "\n".join(e.value.problems)
    assert "training.epochs: duplicate key" in text
    assert "methods.adapter.patience: duplicate key at line 10 (first at line 9)" in text
    assert "methods.adapter.lr: expected a positive number, got -1.0" in text


def test_merge_keys_may_override_what_they_merge(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(
        HEAD
        + "training: &base {epochs: 2, batch_size: 8}\n"
        + "methods:\n  adapter: {<<: *base, epochs: 3, lr: 1.0e-3}\n"
    )
    spec = load_spec(p)
    assert spec.methods["adapter"].hparams == {"batch_size": 8, "epochs": 3, "lr": 1e-3}


def test_deep_nesting_is_a_problem_at_its_line(tmp_path, capsys):
    rc, err = plan(tmp_path, capsys, HEAD + "methods: " + "[" * 20000 + "]" * 20000 + "\n")
    assert rc == 2
    # the file's mapping is the first level, so the 32nd bracket is the 33rd
    assert (
        f"line 5, column {len('methods: ') + 32}: invalid YAML: values nest deeper than 32" in err
    )
    assert "RecursionError" not in err


def test_an_alias_bomb_is_stopped_before_it_expands(tmp_path, capsys):
    # nine levels of ten aliases each: a billion values once written out
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "sweep: s\nbackbone: tiny-roberta\n" + "\n".join(lines) + "\n"
    text += "benchmarks: {synthetic: {seeds: [0]}}\nmethods: {adapter: *a9}\n"
    rc, err = plan(tmp_path, capsys, text)
    assert rc == 2
    assert (
        "line 8, column 5: invalid YAML: aliases (*name) expand this document to more than" in err
    )
    assert len(err) < 1000


def test_aliases_that_nest_too_deep_or_refer_to_themselves(tmp_path):
    from orchestrator.sweep import yaml_loader

    chain = ["l0: &l0 [[[[[[[[x]]]]]]]]"]
    chain += [f"l{i}: &l{i} [[[[[[[[*l{i - 1}]]]]]]]]" for i in range(1, 6)]
    with pytest.raises(yaml_loader.YamlFileError, match="through aliases, values nest deeper"):
        yaml_loader.load("\n".join(chain).encode())
    with pytest.raises(yaml_loader.YamlFileError, match=r"the alias \*a refers to a value"):
        yaml_loader.load(b"a: &a {b: *a}")


def test_reasonable_aliases_still_load():
    from orchestrator.sweep import yaml_loader

    value, duplicates = yaml_loader.load(b"r: &r {cpu: 2, gpu: 0.5}\nm: {a: *r, b: *r}\n")
    assert value["m"] == {"a": {"cpu": 2, "gpu": 0.5}, "b": {"cpu": 2, "gpu": 0.5}}
    assert duplicates == []


def test_bytes_that_are_not_utf8_are_named_by_offset(tmp_path, capsys):
    content = (HEAD + "methods:\n  adapter: {lr: 1.0e-3}  # caf").encode() + b"\xe9\n"
    rc, err = plan(tmp_path, capsys, content)
    assert rc == 2
    offset = content.index(b"\xe9")
    column = offset - content.rindex(b"\n", 0, offset)
    assert f"byte {offset} (line 6, column {column}): 0xe9 is not UTF-8 text" in err
    assert "UnicodeDecodeError" not in err


def test_control_characters_and_unbuildable_scalars_are_problems_at_their_place():
    from orchestrator.sweep import yaml_loader

    with pytest.raises(yaml_loader.YamlFileError, match=r"byte 12 \(line 2, column 4\).*U\+0007"):
        yaml_loader.load(b"sweep: s\nx: \x07\n")
    with pytest.raises(yaml_loader.YamlFileError, match="line 1, column 10: .*month must be"):
        yaml_loader.load(b"created: 2024-13-45\n")
    with pytest.raises(yaml_loader.YamlFileError, match="line 1, column 7: .*digits"):
        yaml_loader.load(b"seed: " + b"7" * 5000 + b"\n")
