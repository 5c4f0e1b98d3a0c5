"""One module per method, or family of methods, of the catalogue (orchestrator.contract.methods).

Each defines a ``MethodImpl`` (``base``) that the catalogue entry names as its ``implementation``:
what the method adds to the backbone, what trains, what its payload holds. ``NodeModel`` does the
rest (backbone, heads, checkpoints, counts) for every method alike.
"""
