"""Compacter++: a bottleneck adapter after the FFN with PHM (Kronecker-factorised) projections."""

from __future__ import annotations

from orchestrator.contract.methods import CompacterSettings
from trainables.methods.adapter import Adapter


class CompacterPlusPlus(Adapter):
    """The adapters library's ``CompacterPlusPlusConfig`` at the node's reduction factor."""

    def config(self, node):
        from adapters import CompacterPlusPlusConfig

        rf = node.hparams.reduction_factor
        config = CompacterPlusPlusConfig(reduction_factor=rf)
        phm_dim = node.hparams.settings(CompacterSettings).phm_dim
        if phm_dim is not None:
            config = config.replace(phm_dim=phm_dim)
        _check_phm(node.model.config.hidden_size, rf, config.phm_dim)
        return config


def _check_phm(hidden: int, reduction_factor: int, phm_dim: int) -> None:
    """Compacter's PHM layers need both sizes divisible by phm_dim: say so clearly."""
    down = int(hidden // reduction_factor)
    if hidden % phm_dim or down % phm_dim:
        raise ValueError(
            f"compacter_pp: hidden size {hidden} and bottleneck {hidden} // {reduction_factor} = "
            f"{down} must be divisible by phm_dim {phm_dim}; change hparams reduction_factor "
            "(e.g. 8 for tiny-roberta) or phm_dim"
        )
