"""Layer dropping (Sajjad et al. 2023): which pre-trained layers to remove, and the study.

Strategies, for dropping k of an encoder's L layers (0-based indices):

* ``top``: the last k (the paper's most robust choice);
* ``bottom``: the first k;
* ``alternate``: every other layer from the top (L-1, L-3, ...);
* ``symmetric``: k middle layers, keeping the bottom and top ones;
* ``contribution``: the k layers whose output is most similar to their input (mean cosine
  similarity of a layer's input and output hidden states over the tokens of training
  text): the layers that change the representation least.

Each pruned encoder is built from the pre-trained weights (``train.pruning``) and
fine-tuned with the default recipe; the control is the full model, same data and recipe.
"""

from __future__ import annotations

import numpy as np

from gluebench.errors import UsageError
from gluebench.models import hf
from gluebench.studies.design import Study, Variant
from gluebench.train import features

STRATEGIES = ("top", "bottom", "alternate", "symmetric", "contribution")
CONTRIBUTION_EXAMPLES = 256   # training examples whose hidden states score each layer


def layers_to_drop(strategy: str, k: int, n_layers: int,
                   similarity: list[float] | None = None) -> list[int]:
    """The 0-based layers ``strategy`` drops to remove ``k`` of ``n_layers``."""
    if not 0 < k < n_layers:
        raise UsageError(f"--drop {k}: can drop 1 to {n_layers - 1} of the model's "
                         f"{n_layers} layers")
    if strategy == "top":
        return list(range(n_layers - k, n_layers))
    if strategy == "bottom":
        return list(range(k))
    if strategy == "alternate":
        if k > (n_layers + 1) // 2:
            raise UsageError(f"--drop {k}: alternate dropping removes at most every other "
                             f"layer ({(n_layers + 1) // 2} of {n_layers})")
        return sorted(n_layers - 1 - 2 * i for i in range(k))
    if strategy == "symmetric":
        start = (n_layers - k) // 2
        return list(range(start, start + k))
    if strategy == "contribution":
        if similarity is None:
            raise ValueError("contribution dropping needs the layers' similarities")
        order = np.argsort(-np.asarray(similarity), kind="stable")   # most similar first
        return sorted(int(i) for i in order[:k])
    raise UsageError(f"unknown strategy '{strategy}'; expected one of: {', '.join(STRATEGIES)}")


def layer_similarity(model, encoded, *, max_examples: int = CONTRIBUTION_EXAMPLES,
                     batch_size: int = 32) -> list[float]:
    """Per layer: the mean cosine similarity of its input and output over real tokens."""
    import torch
    import torch.nn.functional as F

    model.eval()
    rows = np.arange(min(len(encoded), max_examples))
    total, tokens = None, 0
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            batch = {k: torch.from_numpy(v) for k, v in
                     encoded.batch(rows[start:start + batch_size]).items()}
            states = model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].bool()                   # (batch, seq)
            sims = torch.stack([F.cosine_similarity(states[i], states[i + 1], dim=-1)[mask]
                                .sum() for i in range(len(states) - 1)])
            total = sims if total is None else total + sims
            tokens += int(mask.sum())
    return (total / tokens).tolist()


def contribution_similarity(model_ref, tokenizer, examples, max_seq_length: int) -> list[float]:
    """``layer_similarity`` of the pre-trained encoder on ``examples`` (training text)."""
    model, _ = hf.load_classifier(model_ref, 2)
    encoded = features.encode(tokenizer, examples, max_seq_length)
    return layer_similarity(model, encoded)


def build(*, model, tasks: list[str], seeds: list[int], base: dict, strategies: list[str],
          drops: list[int], n_layers: int, similarity: dict[str, list[float]]) -> Study:
    """The study: the full model (control) and every strategy x number dropped, per task."""
    variants = []
    for task in tasks:
        variants.append(Variant("full", task, "control", {}, float(n_layers), "full",
                                facts={"dropped": []}))
        for strategy in strategies:
            for k in drops:
                dropped = layers_to_drop(strategy, k, n_layers, similarity.get(task))
                variants.append(Variant(f"{strategy}-{k}", task, "variant",
                                        {"drop_layers": tuple(dropped)}, float(n_layers - k),
                                        strategy, ["full"], {"dropped": dropped}))
    return Study("layer-drop", model, tasks, seeds, base, variants, "encoder layers kept",
                 facts={"layers": n_layers, "strategies": strategies, "drops": drops,
                        "similarity": similarity})
