"""Plan and run the ScaLearn paper's two-stage transfer grids as one Ray Tune experiment.

Importing this package never imports torch: the head node and the CLI's ``plan`` stay light.
"""

__version__ = "0.1.0"
