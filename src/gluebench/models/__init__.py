"""Predictors: Hugging Face encoders (``hf``); baselines live in ``gluebench.baselines``."""
