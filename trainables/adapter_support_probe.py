"""Extract ``adapter_support.json`` from the installed ``adapters`` library.

Every model type with an ``AdapterModel`` is built from its default config (one layer, on the meta
device: shapes, no weights), and every method of the catalogue is set up on it through
``NodeModel.around``, exactly as a trial sets it up. A method is supported when that succeeds and
the method adds what it trains (a transfer layer for transfer methods, trainable weights beyond
the heads for the others); a problem type when its head builds (under the first stage-one
method that does).

    python -m trainables.adapter_support_probe           # print the table
    python -m trainables.adapter_support_probe --write   # rewrite trainables/adapter_support.json
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import warnings
from importlib import metadata, resources

import torch

from orchestrator.contract.methods import METHODS, Kind
from trainables.adapter_support import TABLE_FILE
from trainables.models import PROBLEM_TYPES, HeadSpec, NodeModel
from trainables.tasks.registry import CLASSIFICATION, MULTIPLE_CHOICE, REGRESSION

# Only the number of layers is cut: one layer shows whether a method fits as well as twelve.
_LAYER_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "encoder_layers", "decoder_layers")


def _config(model_type: str):
    import transformers

    config = transformers.AutoConfig.for_model(model_type)
    for key in _LAYER_KEYS:
        if hasattr(config, key):
            try:
                setattr(config, key, 1)
            except (AttributeError, ValueError):
                pass
    return config


def _head(task: str, problem_type: str) -> HeadSpec:
    n = 1 if problem_type == REGRESSION else (4 if problem_type == MULTIPLE_CHOICE else 2)
    return HeadSpec(task, problem_type, n)


def _builds(config, method: str, problem_type: str = CLASSIFICATION) -> bool:
    """Whether ``method`` with a head of ``problem_type`` sets up on ``config``'s model."""
    import adapters

    entry = METHODS[method]
    tasks = ["task0", "task1"]
    heads = [_head(t, problem_type) for t in (tasks if entry.kind == Kind.JOINT else tasks[:1])]
    sources = [(t, None) for t in tasks] if entry.kind.has_sources else None
    # a probe scales each source by a fixed omega
    hparams = {"probe_omegas": [1.0] * len(tasks)} if entry.kind == Kind.PROBE else {}
    try:
        with torch.device("meta"):
            model = adapters.AutoAdapterModel.from_config(copy.deepcopy(config))
            node = NodeModel.around(
                model, config.model_type, method, heads, hparams, 0, sources=sources
            )
    except Exception:  # the library refuses the method (or the head) on this architecture
        return False
    if entry.kind == Kind.PROBE:  # it trains a head only; the fixed scaling must be in place
        return node.fusion_name is not None
    counts = node.param_counts()
    heads_size = sum(p.numel() for n, p in model.named_parameters() if n.startswith("heads."))
    if entry.kind == Kind.TRANSFER:
        return bool(counts["transfer_params"])
    return counts["trainable_params"] > heads_size


def probe() -> dict:
    """The support table of the installed adapters library."""
    from adapters.models.auto.adapter_model import ADAPTER_MODEL_MAPPING_NAMES

    logging.getLogger("adapters").setLevel(logging.ERROR)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model_type, class_name in ADAPTER_MODEL_MAPPING_NAMES.items():
            config = _config(model_type)
            methods = [m for m in METHODS if _builds(config, m)]
            # a head is the same whichever method sits below it: try it under the first one
            stl = [m for m in methods if METHODS[m].kind == Kind.STL][:1]
            out[model_type] = {
                "adapter_model": class_name,
                "methods": methods,
                "problem_types": [p for p in PROBLEM_TYPES for m in stl if _builds(config, m, p)],
            }
    return {"adapters": metadata.version("adapters"), "model_types": out}


def render(table: dict) -> str:
    """The table as stored: sorted keys, one line per list."""
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite trainables/{TABLE_FILE}")
    args = parser.parse_args(argv)
    text = render(probe())
    if args.write:
        path = resources.files("trainables").joinpath(TABLE_FILE)
        with open(str(path), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {path}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
