"""``gluebench run``, the main job: what fits this machine, chosen by device and budget.

``plan`` decides (a GPU fine-tunes every task on its full data with the default recipe;
a CPU probes the frozen encoder on seeded subsamples sized to the budget) and says why;
``job`` carries the plan out, bounded by the budget, and writes the report.
"""
