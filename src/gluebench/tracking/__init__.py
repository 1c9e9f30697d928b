"""Experiment trackers (``--report-to``, HF Trainer's convention): one small adapter per tool
behind ``base.Tracker``, all offline by default and writing under the run directory."""
