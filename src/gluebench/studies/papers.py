"""The papers each study follows, and their headline claims, as the papers state them.

Only claims quoted from a paper's abstract are kept (``claim``, with the numbers as data);
``setting`` says what the claim was measured on, so a report can say when our numbers
are comparable and when they are not. Our number beside a claim is computed the same way
(the share of the reference score kept, the share of parameters removed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    key: str
    cite: str               # authors, year, title, venue
    url: str
    claim: str              # the headline, phrased as the paper's abstract phrases it
    setting: str            # where the claim was measured
    numbers: dict           # the claim's numbers (fractions)


PAPERS = {
    "sajjad": Paper(
        "sajjad", "Sajjad, Dalvi, Durrani & Nakov (2023), \"On the Effect of Dropping Layers "
        "of Pre-trained Transformer Models\", Computer Speech & Language 77",
        "https://arxiv.org/abs/2004.03844",
        "\"We were able to prune BERT, RoBERTa and XLNet models up to 40%, while maintaining "
        "up to 98% of their original performance\" (abstract); top-layer dropping was the "
        "most robust strategy",
        "12-layer base models fine-tuned on the full GLUE training sets",
        {"layers_dropped": 0.40, "retained": 0.98, "layers": 12}),
    "hinton": Paper(
        "hinton", "Hinton, Vinyals & Dean (2015), \"Distilling the Knowledge in a Neural "
        "Network\", NeurIPS Deep Learning Workshop", "https://arxiv.org/abs/1503.02531",
        "soft targets at temperature T, the soft-target term scaled by T² (the loss used "
        "here); no GLUE number", "image and speech models", {}),
    "distilbert": Paper(
        "distilbert", "Sanh, Debut, Chaumond & Wolf (2019), \"DistilBERT, a distilled version "
        "of BERT: smaller, faster, cheaper and lighter\", EMC² workshop at NeurIPS",
        "https://arxiv.org/abs/1910.01108",
        "\"it is possible to reduce the size of a BERT model by 40%, while retaining 97% of "
        "its language understanding capabilities and being 60% faster\" (abstract)",
        "a 6-layer student of BERT-base distilled during pre-training, then fine-tuned on the "
        "full GLUE training sets (GLUE dev)",
        {"size_reduction": 0.40, "retained": 0.97, "layers": 12}),
    "tinybert": Paper(
        "tinybert", "Jiao et al. (2020), \"TinyBERT: Distilling BERT for Natural Language "
        "Understanding\", Findings of EMNLP", "https://arxiv.org/abs/1909.10351",
        "\"TinyBERT with 4 layers is empirically effective and achieves more than 96.8% the "
        "performance of its teacher BERT-Base on GLUE benchmark, while being 7.5x smaller and "
        "9.4x faster on inference\" (abstract)",
        "general and task-specific distillation of BERT-base (12 layers) with data "
        "augmentation; hidden-state, attention and embedding losses",
        {"retained": 0.968, "smaller": 7.5, "faster": 9.4, "layers": 12}),
    "attendu": Paper(
        "attendu", "Attendu & Corbeil (2023), \"NLU on Data Diets: Dynamic Data Subset "
        "Selection for NLP Classification Tasks\", SustaiNLP workshop at ACL",
        "https://arxiv.org/abs/2306.03208",
        "\"Our method preserves full accuracy while training on 50% of the data points and "
        "reduces computational times by up to 41%\" (abstract)",
        "dynamic pruning (EL2N re-scored periodically during fine-tuning) of the full GLUE "
        "training sets with BERT-base-sized models",
        {"kept": 0.50, "retained": 1.0, "time_saved": 0.41}),
    "paul": Paper(
        "paul", "Paul, Ganguli & Dziugaite (2021), \"Deep Learning on a Data Diet: Finding "
        "Important Examples Early in Training\", NeurIPS", "https://arxiv.org/abs/2107.07075",
        "EL2N, the L2 norm of the error vector softmax − one-hot early in training, ranks "
        "examples by importance (the score used here)", "image classification (CIFAR)", {}),
    "toneva": Paper(
        "toneva", "Toneva et al. (2019), \"An Empirical Study of Example Forgetting during "
        "Deep Neural Network Learning\", ICLR", "https://arxiv.org/abs/1812.05159",
        "\"a significant fraction of examples can be omitted from the training data set "
        "while still maintaining state-of-the-art generalization performance\" (abstract); "
        "forgetting events counted as here", "image classification (MNIST, CIFAR)", {}),
}

STUDY_PAPERS = {"layer-drop": ("sajjad",), "distill": ("hinton", "distilbert", "tinybert"),
                "data-diet": ("attendu", "paul", "toneva")}


def setting_differences(paper: Paper, facts: dict) -> list[str]:
    """Why our run is not the paper's setting (empty: comparable). ``facts``: our layers,
    whether train was subsampled, and (diets) whether pruning was dynamic."""
    out = []
    layers = paper.numbers.get("layers")
    if layers and facts.get("layers") != layers:
        out.append(f"our {facts.get('role', 'encoder')} has {facts.get('layers')} layers, "
                   f"the paper's {layers}")
    if facts.get("subsampled"):
        out.append("we train on a subsample of each training set, the paper on all of it")
    if paper.key == "attendu":
        out.append("our diet is static (scored once after the scoring epochs), the paper's "
                   "dynamic (re-scored during fine-tuning)")
    if paper.key in ("distilbert", "tinybert"):
        out.append("our student is distilled only on the task (no distillation during "
                   "pre-training" + (", no data augmentation" if paper.key == "tinybert"
                                     else "") + ")")
    return out
