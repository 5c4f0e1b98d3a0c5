"""Probing: a new head trained over frozen source adapters whose outputs are scaled by fixed omegas.

At every layer the output is ``residual + sum_s omega_s * up_s`` (ScaLearn's combination with the
omegas held fixed), so omega 0 is the plain frozen backbone and omega 1 a source adapter as it
was trained; only the head learns. One source gives the paper's single-source probing, two (the
target's own adapter and another task's) its pairwise probing grid.
"""

from __future__ import annotations

from orchestrator.contract.methods import ProbeSettings
from trainables import scalearn_layer
from trainables.methods.base import MethodImpl, load_sources

# one scalar per source, the same at every layer, never dropped
_FIXED = scalearn_layer.Variant("probe", vector=False, shared=True, dropout=0.0)


class Probe(MethodImpl):
    """Fixed omegas from ``ProbeSettings.probe_omegas``; everything below the head stays frozen."""

    def setup(self, node) -> None:
        omegas = list(node.hparams.settings(ProbeSettings).probe_omegas or ())
        if len(omegas) != len(node.sources):
            raise ValueError(
                f"probing needs one omega per source: {len(node.sources)} sources, "
                f"probe_omegas {omegas}"
            )
        node.fusion_name, node.scalearn_layers = scalearn_layer.add_scalearn(
            node.model, load_sources(node), _FIXED
        )
        if node.scalearn_layers[0].omega.device.type != "meta":  # parameter counts build shapes
            scalearn_layer.set_omega_table(node.scalearn_layers, [omegas])

    def set_trainable(self, node) -> None:
        for p in node.model.parameters():
            p.requires_grad = False

    def summary(self, node) -> dict:
        return {
            "sources": [name for name, _ in node.sources],
            "fixed_omegas": [
                float(w) for w in node.hparams.settings(ProbeSettings).probe_omegas or ()
            ],
        }
