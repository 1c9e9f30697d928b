"""Robustness studies: seeded, documented input perturbations for GLUE models."""
