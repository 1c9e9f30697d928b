"""Analysis beyond the score: calibration and errors, statistical power."""
