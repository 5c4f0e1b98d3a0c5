"""What a sweep's ``backbone:`` names, read without torch and without the network.

The planner checks a backbone with this module and the trainers build it from the same parse, so
both agree on what a name means. Forms:

- ``tiny-roberta``: the tiny model for tests and the demo (``trainables.tiny_backbone``).
- ``roberta-base``, ``roberta-large``, ``xlm-roberta-base``, ``xlm-roberta-large`` (also with
  ``FacebookAI/``): the paper's backbones, whose configs ship in ``backbone_configs/``.
- ``org/name`` or ``org/name@revision``: a model on the Hugging Face hub.
- a folder holding a Hugging Face checkpoint (``config.json``, weights, tokenizer files): an
  absolute path, or relative to the sweep file; ``~`` and ``$VARS`` expand.
- ``random:`` before any of these: the same architecture with random weights from a fixed seed.
  On the tiny model and the paper's four with a tokenizer trained on the synthetic corpus (speed
  and parameter counts); on a hub id or a folder with that checkpoint's own tokenizer.

A node's id holds ``identity(ref)``: the name as written for the tiny model, the paper's four and
hub ids (with the revision, when one is given), and for a folder the digest of its config, weights
and tokenizer files, not its path: a moved folder keeps every node, a changed weight moves all.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from orchestrator.contract.methods import Arch
from trainables import adapter_support
from trainables.tasks.registry import CLASSIFICATION, MULTILABEL, REGRESSION

TINY = "tiny-roberta"
RANDOM_PREFIX = "random:"
PACKAGED = ("roberta-base", "roberta-large", "xlm-roberta-base", "xlm-roberta-large")
PACKAGED_ORG = "FacebookAI/"

CONFIG_FILE = "config.json"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "spm.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)
# Any one of these lets AutoTokenizer build the checkpoint's tokenizer.
TOKENIZER_ANCHORS = tuple(f for f in TOKENIZER_FILES if f not in ("special_tokens_map.json",))
_OFFLINE_VALUES = ("1", "ON", "YES", "TRUE")


class Form(str, Enum):
    """Which kind of thing a backbone name points at."""

    TINY = "tiny"
    PACKAGED = "packaged"
    HUB = "hub"
    LOCAL = "local"


class BackboneError(ValueError):
    """A backbone name that cannot be used; the message says what would be right."""


@dataclass(frozen=True)
class BackboneRef:
    """A parsed backbone name.

    ``name``: the tiny model's or one of the paper's four names (without ``FacebookAI/``), a hub
    repository id, or a local folder's absolute path. ``text``: the name as the sweep wrote it.
    """

    text: str
    form: Form
    name: str
    random: bool = False
    revision: str | None = None

    @property
    def uri(self) -> str:
        """What trainers receive: the name as written, a local folder as its absolute path."""
        if self.form != Form.LOCAL:
            return self.text
        return (RANDOM_PREFIX if self.random else "") + self.name

    @property
    def repo(self) -> str:
        """What ``from_pretrained`` is given: the hub id or folder (the name as written for the
        paper's four, so the hub cache is the one ``from_pretrained(name)`` fills)."""
        if self.form == Form.PACKAGED:
            return self.text.removeprefix(RANDOM_PREFIX)
        return self.name

    @property
    def trained_tokenizer(self) -> bool:
        """Whether the backbone has no tokenizer of its own and gets one trained on the synthetic
        corpus (``random:`` copies of the tiny model and of the paper's four)."""
        return self.random and self.form in (Form.TINY, Form.PACKAGED)

    @property
    def needs_weights(self) -> bool:
        """Whether the backbone's weights are loaded (not random, not the tiny model's own)."""
        return not self.random and self.form in (Form.PACKAGED, Form.HUB, Form.LOCAL)


def known_names() -> list[str]:
    """The names that need no folder or hub id."""
    return [*PACKAGED, TINY, *(RANDOM_PREFIX + n for n in (*PACKAGED, TINY))]


def _is_path_like(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", "$")) or text in (".", "..")


def _expand(text: str, base_dir: Path | None) -> Path:
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path.resolve()


def parse(text: str, base_dir: str | os.PathLike | None = None) -> BackboneRef:
    """The backbone ``text`` names; relative folders start at ``base_dir`` (default: cwd).

    Raises BackboneError for a name that is none of the forms, naming the closest known ones.
    """
    if not isinstance(text, str) or not text.strip():
        raise BackboneError(f"expected a backbone name, hub id or folder, got {text!r}")
    text = text.strip()
    rest = text.removeprefix(RANDOM_PREFIX)
    random = rest != text
    base = Path(base_dir) if base_dir is not None else None
    if rest == TINY:
        return BackboneRef(text, Form.TINY, TINY, random)
    bare = rest.removeprefix(PACKAGED_ORG)
    if bare in PACKAGED:
        return BackboneRef(text, Form.PACKAGED, bare, random)
    if _is_path_like(rest) or _expand(rest, base).is_dir():
        return BackboneRef(text, Form.LOCAL, str(_expand(rest, base)), random)
    repo, _, revision = rest.partition("@")
    if "/" in repo and _valid_repo_id(repo) and (revision or "@" not in rest):
        return BackboneRef(text, Form.HUB, repo, random, revision or None)
    raise BackboneError(_unknown_message(text, rest, base))


def _valid_repo_id(repo: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo)
    except HFValidationError:
        return False
    return repo.count("/") == 1


def _unknown_message(text: str, rest: str, base: Path | None) -> str:
    candidates = known_names() + cached_repo_ids()
    close = difflib.get_close_matches(text, candidates, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return (
        f"unknown backbone {text!r}: not a known name, not a hub id (org/name[@revision]) and not "
        f"a folder ({_expand(rest, base)} does not exist); {hint}known names: "
        f"{', '.join(known_names())}"
    )


# -- the local Hugging Face cache ---------------------------------------------------------------


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` forbids the hub (then hub backbones must be in the cache)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _OFFLINE_VALUES


def hub_cache_dir() -> str:
    """The Hugging Face hub cache this process reads (``HF_HUB_CACHE`` / ``HF_HOME``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return os.path.join(home, "hub")


def cached_repo_ids() -> list[str]:
    """Model repositories in the local hub cache (by their folder names, no file read)."""
    root = Path(hub_cache_dir())
    if not root.is_dir():
        return []
    return sorted(
        p.name.removeprefix("models--").replace("--", "/")
        for p in root.iterdir()
        if p.name.startswith("models--")
    )


def _cached_file(repo: str, filename: str, revision: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, cache_dir=hub_cache_dir(), revision=revision)
    return found if isinstance(found, str) else None


def _checkpoint_file(ref: BackboneRef, filename: str) -> str | None:
    """A file of a local or cached checkpoint, or None when it is not there."""
    if ref.form == Form.LOCAL:
        path = Path(ref.name) / filename
        return str(path) if path.is_file() else None
    return _cached_file(ref.repo, filename, ref.revision)


# -- what a checkpoint holds --------------------------------------------------------------------


def _packaged_config(name: str) -> dict:
    text = resources.files("trainables").joinpath("backbone_configs", f"{name}.json").read_text()
    return json.loads(text)


def config_dict(ref: BackboneRef) -> dict | None:
    """The backbone's model config as plain data; None for a hub id not in the local cache.

    The tiny model's has no ``vocab_size``: it is its trained tokenizer's.
    """
    if ref.form == Form.TINY:
        return _packaged_config(TINY)
    if ref.form == Form.PACKAGED:
        return _packaged_config(ref.name)
    path = _checkpoint_file(ref, CONFIG_FILE)
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def arch(config: dict) -> Arch | None:
    """Layers, hidden and FFN sizes, vocabulary and positions of a config (any naming)."""

    def first(*keys, default=None):
        for k in keys:
            if isinstance(config.get(k), int):
                return config[k]
        return default

    layers = first("num_hidden_layers", "num_layers", "n_layer", "encoder_layers")
    hidden = first("hidden_size", "d_model", "n_embd", "dim")
    if not layers or not hidden:
        return None
    return Arch(
        layers=layers,
        hidden=hidden,
        intermediate=first("intermediate_size", "d_ff", "n_inner", "hidden_dim", "ffn_dim")
        or 4 * hidden,
        vocab=first("vocab_size", default=0),
        positions=first("max_position_embeddings", "n_positions", default=0),
        type_vocab=first("type_vocab_size", default=0),
    )


def _listed_shards(index_file: Path) -> list[str]:
    try:
        return sorted(set(json.loads(index_file.read_text())["weight_map"].values()))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return []


def checkpoint_files(folder: str | os.PathLike, weights: bool = True) -> list[Path]:
    """The files of a checkpoint folder that decide the model: config, weights (with the shards
    an index lists) and tokenizer files."""
    folder = Path(folder)
    names = [CONFIG_FILE, *TOKENIZER_FILES]
    if weights:
        for name in WEIGHT_FILES:
            names.append(name)
            if name.endswith(".index.json") and (folder / name).is_file():
                names += _listed_shards(folder / name)
    return sorted({folder / n for n in names if (folder / n).is_file()})


@lru_cache(maxsize=1024)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checkpoint_digest(folder: str | os.PathLike, weights: bool = True) -> str:
    """A digest of the names and bytes of ``checkpoint_files``: what the checkpoint is, wherever
    it lies."""
    h = hashlib.sha256()
    for path in checkpoint_files(folder, weights):
        st = path.stat()
        h.update(path.name.encode() + b"\0")
        h.update(_file_digest(str(path), st.st_size, st.st_mtime_ns).encode())
    return h.hexdigest()[:32]


def identity(ref: BackboneRef) -> Any:
    """What of the backbone enters node ids (see the module doc)."""
    if ref.form != Form.LOCAL:
        return ref.text
    out: dict[str, Any] = {"checkpoint": checkpoint_digest(ref.name, weights=not ref.random)}
    if ref.random:
        out["random"] = True
    return out


# -- plan-time checks ---------------------------------------------------------------------------


def _missing_local_files(ref: BackboneRef) -> list[str]:
    folder = Path(ref.name)
    if not folder.is_dir():
        return [
            f"no such folder: {folder} (a relative path starts at the sweep file's folder, on "
            "the command line at the current one)"
        ]
    out = []
    how = "a checkpoint folder as save_pretrained writes it"
    if not (folder / CONFIG_FILE).is_file():
        out.append(f"{folder} has no {CONFIG_FILE} ({how}: model.save_pretrained(folder))")
    if ref.needs_weights:
        present = [n for n in WEIGHT_FILES if (folder / n).is_file()]
        if not present:
            out.append(
                f"{folder} has no weights: none of {', '.join(WEIGHT_FILES)} "
                f"({how}; or write random:{folder} for random weights)"
            )
        for index in (n for n in present if n.endswith(".index.json")):
            for shard in _listed_shards(folder / index):
                if not (folder / shard).is_file():
                    out.append(f"{folder} has no {shard}, which {index} lists")
    if not any((folder / n).is_file() for n in TOKENIZER_ANCHORS):
        out.append(
            f"{folder} has no tokenizer files: none of tokenizer.json, tokenizer_config.json, "
            "vocab.txt, vocab.json, spiece.model (tokenizer.save_pretrained(folder))"
        )
    return out


def _missing_cached_files(ref: BackboneRef) -> list[str]:
    missing = []
    if _cached_file(ref.repo, CONFIG_FILE, ref.revision) is None:
        missing.append(CONFIG_FILE)
    if ref.needs_weights and not any(_cached_file(ref.repo, n, ref.revision) for n in WEIGHT_FILES):
        missing.append("weights (" + " or ".join(WEIGHT_FILES[::2]) + ")")
    if not ref.trained_tokenizer and not any(
        _cached_file(ref.repo, n, ref.revision) for n in TOKENIZER_ANCHORS
    ):
        missing.append("tokenizer files")
    if not missing:
        return []
    rev = f" --revision {ref.revision}" if ref.revision else ""
    return [
        f"{ref.repo}{'@' + ref.revision if ref.revision else ''} is not in the local Hugging Face "
        f"cache ({hub_cache_dir()}; missing: {', '.join(missing)}) and HF_HUB_OFFLINE=1 forbids "
        f"fetching it; fetch it where the hub is reachable, with the same HF_HOME: "
        f"huggingface-cli download {ref.repo}{rev}"
    ]


def head_of(problem_type: str) -> str:
    """The ``adapters`` head a problem type trains with (how ``trainables.models`` adds it)."""
    if problem_type in (CLASSIFICATION, REGRESSION, MULTILABEL):
        return "classification head"
    return f"{problem_type.replace('_', ' ')} head"


def support_problems(
    model_type: str | None, where: str, methods: list[str], problem_types: dict[str, str]
) -> list[str]:
    """What ``adapters`` cannot run of ``methods`` and of the tasks' ``problem_types``
    (task -> problem type) on ``model_type``."""
    version = adapter_support.adapters_version()
    if not model_type:
        return [f"{where} has no model_type; cannot tell which architecture it is"]
    supported = adapter_support.supported_methods(model_type)
    runnable = ", ".join(adapter_support.runnable_model_types())
    if not supported:
        kind = "has no AdapterModel for" if supported is None else "runs no method on"
        return [
            f"architecture {model_type!r} ({where}): adapters {version} {kind} it; "
            f"architectures it runs: {runnable}"
        ]
    out = [
        f"method {m!r} cannot run on architecture {model_type!r} ({where}) with adapters "
        f"{version}; it runs there: {', '.join(supported)}"
        for m in methods
        if m not in supported
    ]
    heads = adapter_support.supported_problem_types(model_type)
    for task, ptype in problem_types.items():
        if ptype not in heads:
            out.append(
                f"task {task!r} needs a {head_of(ptype)}, which adapters {version} does not "
                f"build on architecture {model_type!r} ({where})"
            )
    return out


def problems(ref: BackboneRef, methods: list[str], problem_types: dict[str, str]) -> list[str]:
    """Everything that keeps ``ref`` from training ``methods`` on tasks of ``problem_types``,
    found without torch or network: missing files, a hub id missing from the cache under
    ``HF_HUB_OFFLINE=1``, an architecture or head that ``adapters`` does not support."""
    if ref.form == Form.LOCAL:
        found = _missing_local_files(ref)
        if found:
            return found
    elif ref.form == Form.HUB or (ref.form == Form.PACKAGED and ref.needs_weights):
        if hub_offline():
            found = _missing_cached_files(ref)
            if found:
                return found
    config = config_dict(ref)
    if config is None:
        return []  # a hub id not cached yet: the architecture is checked when it is fetched
    where = ref.name if ref.form == Form.LOCAL else f"{ref.repo} {CONFIG_FILE}"
    return support_problems(config.get("model_type"), where, methods, problem_types)
