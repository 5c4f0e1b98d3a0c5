"""Finding an adapter's modules inside an ``adapters`` model."""

from __future__ import annotations


def output_adapters(model, name: str) -> list:
    """The ``adapters`` library's bottleneck modules of adapter ``name``, in layer order."""
    from adapters.methods.bottleneck import BottleneckLayer

    found = []
    for _, layer in model.iter_layers():
        for module in layer.modules():
            if isinstance(module, BottleneckLayer) and name in module.adapters:
                found.append(module.adapters[name])
    return found
