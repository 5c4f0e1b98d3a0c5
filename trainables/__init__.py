"""Models, data and training loops for the sweep orchestrator's nodes.

Heavy dependencies (torch, transformers, adapters) are imported by the submodules that need
them, never here, so that ``trainables.tasks.registry`` stays importable on a torch-free head node.
"""
