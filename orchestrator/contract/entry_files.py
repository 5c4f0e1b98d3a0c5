"""The names of the files inside a committed store entry: one place for the trial that writes
them, the trainers that fill the payload, and the readers that rebuild rows from them.

The store's own bookkeeping beside an entry (its commit marker, claims, attempts, quarantine
notes) is the store's business and is named in ``orchestrator.store.base``.
"""

NODE_FILE = "node.json"  # the NodeSpec that trained (``NodeSpec.to_dict``)
ROWS_FILE = "rows.json"  # what came out: the result rows, per scored task
METRICS_FILE = "metrics.json"  # the trainer's final metrics per task and split
MODEL_FILE = "node_model.json"  # the trained model's description: heads, method, backbone
ADAPTERS_DIR = "adapters"  # per-task adapters in the adapters library's format (joint methods)

__all__ = ["ADAPTERS_DIR", "METRICS_FILE", "MODEL_FILE", "NODE_FILE", "ROWS_FILE"]
