"""Task registry, loaders, the synthetic benchmark and metrics."""
