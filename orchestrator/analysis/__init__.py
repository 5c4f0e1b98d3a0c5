"""What the results say: the paper's grids, the other experiments' views, tests, figures, report.

- ``tables``: the paper's grids from a results frame, with the paper's numbers beside them.
- ``experiment_tables``: probing by omega and the pairwise grids; few-shot curves over k.
- ``significance``: tests over seeds (Welch, bootstrap), Holm's correction.
- ``plots``: the figures; ``report``: everything as one self-contained HTML page.
- ``reference``: the paper's published tables (CSV).

Invariant: analysis reads result rows and the contract only (import-linter checks), so anything
that holds the Parquet files can draw the tables without a store, a plan or Ray. The modules are
not re-exported here: the plots import matplotlib, which ``table`` does not need.
"""

__all__ = ["experiment_tables", "plots", "report", "reference", "significance", "tables"]
