"""Sweeps: grids of tasks x methods x hyperparameters x seeds, on one machine or on Ray.

``spec`` reads the TOML spec, ``trials`` expands it into content-addressed trials,
``worker`` runs one trial (a normal ``finetune`` run directory), ``executors`` hand trials
to an inline loop, a process pool or Ray, ``runner`` orchestrates (resume, retries,
progress), ``select`` picks each task's best configuration without peeking at dev.
"""
