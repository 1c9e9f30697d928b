"""Frozen-encoder probes: sentence embeddings of a frozen model, scikit-learn heads on top.

The SentEval protocol (Conneau & Kiela, 2018) that sentence-encoder papers report GLUE
with: ``pooling`` (the model's own sentence pooling), ``embed`` (each distinct sentence
once, cached), ``heads`` (logistic regression with C chosen by k-fold CV on train; ridge
for STS-B, with the zero-shot cosine beside it), ``run`` (a run directory like
fine-tuning's) and ``predictor`` (a saved probe as a run's model, for the analyses).
"""
