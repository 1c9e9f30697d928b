"""The papers each study follows, their headline claims with provenance, and the claims' units.

A :class:`Claim` is one number a paper states (``outcome``, e.g. "more than 99%" of the
teacher's score), at what cost (``at``, e.g. "50%" of its parameters), against which
reference model, on which benchmark, and where in the paper it stands. ``quote`` is
verbatim when ``verified``: ``source_text`` is the passage as we read it (at ``read_at``),
and a test checks that every fragment of the quote (split at " … ", editorial insertions
in [brackets] removed) occurs in it in order. A claim we could not check against the
paper's text has ``verified=False``; its quote is our paraphrase and the report says so.
``unverified`` holds details we add from memory (which model the teacher was, which
table), shown with that label. ``claims.compare`` compares a claim with our numbers only
where units, reference and benchmark agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# Every unit a number may carry: its key, and how a report names it.
UNITS = {
    "score kept": "share of the reference model's score kept",
    "parameters kept": "share of the reference model's parameters kept",
    "transformer parameters kept": "share of the reference's Transformer parameters and "
                                   "computations kept",
    "layers kept": "share of the reference model's encoder layers kept",
    "training data kept": "share of the training examples kept",
    "training time saved": "share of the reference's fine-tuning time saved",
    "inference time saved": "share of the reference's inference time saved",
    "speed-up": "speed-up over the reference (its inference time over the model's, ×)",
    "GLUE score": "GLUE score (points, the average over the GLUE tasks)",
    "GLUE points below": "number of GLUE score points below the reference",
    "unstated": "number whose unit the source does not state",
}
# Units whose value is a share of the reference that is *kept* (lower: a larger cut).
COST_UNITS = ("parameters kept", "transformer parameters kept", "layers kept",
              "training data kept")
Bound = Literal["at least", "about", "up to"]
ReferenceKind = Literal["teacher", "unpruned", "full data", "other"]


@dataclass(frozen=True)
class Number:
    value: float            # in the unit: a fraction for shares, × for speed-ups, points
    unit: str               # a key of UNITS
    bound: Bound            # "more than 99%": at least; "up to 40%": the best case
    text: str               # the words of the quote that state it
    reading: str = ""       # how ``text`` becomes ``value`` when it is not literal


@dataclass(frozen=True)
class Reference:
    kind: ReferenceKind     # what the share is of; ours must be the same kind
    name: str               # as the paper names it
    layers: int | None = None


@dataclass(frozen=True)
class Claim:
    quote: str
    where: str              # "abstract", "Section 2", "Table 1"
    verified: bool
    reference: Reference | None = None
    outcome: Number | None = None
    at: Number | None = None
    benchmark: str = "GLUE"
    on_glue: bool = True
    aggregate: str = ""     # "averaged over GLUE tasks": ours is per task
    source_text: str = ""   # the passage as read (verified claims)
    read_at: str = ""       # where we read it
    unverified: str = ""    # details from memory, not checked against the text


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    authors: str
    year: int
    venue: str
    arxiv: str
    claims: tuple[Claim, ...]
    method: str = ""        # what the study takes from the paper (our words, not a quote)
    notes: tuple[str, ...] = field(default=())   # setting differences that always hold

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"

    @property
    def cite(self) -> str:
        return f"{self.authors} ({self.year}), \"{self.title}\", {self.venue}, arXiv {self.arxiv}"


BERT_BASE = Reference("teacher", "BERT_BASE", 12)

_SAJJAD = ("We were able to prune BERT, RoBERTa and XLNet models up to 40%, while maintaining "
           "up to 98% of their original performance.")
_DISTILBERT = ("we leverage knowledge distillation during the pre-training phase and show that "
               "it is possible to reduce the size of a BERT model by 40%, while retaining 97% "
               "of its language understanding capabilities and being 60% faster.")
_TINYBERT = ("TinyBERT with 4 layers is empirically effective and achieves more than 96.8% the "
             "performance of its teacher BERTBASE on GLUE benchmark, while being 7.5x smaller "
             "and 9.4x faster on inference.")
_MINILM = ("In particular, it retains more than 99% accuracy on SQuAD 2.0 and several GLUE "
           "benchmark tasks using 50% of the Transformer parameters and computations of the "
           "teacher model.")
_MOBILEBERT = ("Empirical studies show that MobileBERT is 4.3x smaller and 5.5x faster than "
               "BERT_BASE while achieving competitive results on well-known benchmarks. On the "
               "natural language inference tasks of GLUE, MobileBERT achieves a GLUEscore o "
               "77.7 (0.6 lower than BERT_BASE), and 62 ms latency on a Pixel 4 phone.")
_REVIEW = ("We find that distilled efficient attention transformers can preserve a significant "
           "amount of original model performance, preserving up to 98.6% across short-context "
           "tasks (GLUE, SQUAD, CoNLL-2003), up to 94.6% across long-context "
           "Question-and-Answering tasks (HotpotQA, TriviaQA), and up to 98.8% on long-context "
           "Named Entity Recognition (GONERD), while decreasing inference times by up to 57.8%.")
_ATTENDU = ("Our method preserves full accuracy while training on 50% of the data points and "
            "reduces computational times by up to 41%. If we tolerate instead a minor drop of "
            "accuracy of 1%, we can prune 80% of the training examples for a reduction in "
            "finetuning time reaching 66%.")
_PAUL = ("In fact, using EL2N scores calculated a few epochs into training, we can prune half "
         "of the CIFAR10 training set while slightly improving test accuracy.")
_TONEVA = ("(iii) based on forgetting dynamics, a significant fraction of examples can be "
           "omitted from the training data set while still maintaining state-of-the-art "
           "generalization performance.")
_HINTON = ("Since the magnitudes of the gradients produced by the soft targets scale as 1/T^2 "
           "it is important to multiply them by T^2 when using both hard and soft targets.")

_SIZE_AS_PARAMETERS = ("the abstract says size; read as the parameter count (at one precision "
                       "the share in bytes is the same)")
_ON_TASK = "our student is distilled only on the task (no distillation during pre-training)"

PAPERS = {p.key: p for p in (
    Paper("sajjad", "On the Effect of Dropping Layers of Pre-trained Transformer Models",
          "Sajjad, Dalvi, Durrani & Nakov", 2023, "Computer Speech & Language 77, 101429",
          "2004.03844", (
              Claim("We were able to prune BERT, RoBERTa and XLNet models up to 40%, while "
                    "maintaining up to 98% of their original performance", "abstract", True,
                    Reference("unpruned", "the unpruned model", 12),
                    Number(0.98, "score kept", "up to", "up to 98%"),
                    Number(0.40, "unstated", "up to", "up to 40%", "layers or parameters?"),
                    "downstream GLUE tasks", aggregate="the best case over models and tasks",
                    source_text=_SAJJAD,
                    read_at="https://paperswithcode.com/paper/poor-man-s-bert-smaller-and-faster",
                    unverified="the pruned models are 12-layer base models"),),
          method="layer-dropping strategies (top, bottom, alternate, symmetric, contribution)",
          notes=()),
    Paper("hinton", "Distilling the Knowledge in a Neural Network", "Hinton, Vinyals & Dean",
          2015, "NIPS 2014 Deep Learning Workshop", "1503.02531", (
              Claim(_HINTON.rstrip("."), "Section 2", True, benchmark="image and speech models",
                    on_glue=False, source_text=_HINTON,
                    read_at="https://blog.youkuaiyun.com/weixin_42108090/article/details/"
                            "103682306 (a copy of Section 2)"),),
          method="soft targets at temperature T, the soft-target term scaled by T² (the loss "
                 "used here)"),
    Paper("distilbert", "DistilBERT, a distilled version of BERT: smaller, faster, cheaper "
          "and lighter", "Sanh, Debut, Chaumond & Wolf", 2019,
          "5th Workshop on Energy Efficient Machine Learning and Cognitive Computing, NeurIPS",
          "1910.01108", (
              Claim("it is possible to reduce the size of a BERT model by 40%, while retaining "
                    "97% of its language understanding capabilities", "abstract", True,
                    Reference("teacher", "the BERT model it distils", 12),
                    Number(0.97, "score kept", "about", "retaining 97%"),
                    Number(0.60, "parameters kept", "about", "by 40%",
                           "40% smaller: 60% kept; " + _SIZE_AS_PARAMETERS),
                    aggregate="over language understanding tasks (the abstract does not say "
                              "which, nor dev or test)",
                    source_text=_DISTILBERT,
                    read_at="https://www.bibsonomy.de/bibtex/2db84bb660ae7774bebbc75749810bbbd/"
                            "tomvoelker",
                    unverified="the BERT model is BERT-base (12 layers) and 97% is the GLUE dev "
                               "macro-score (the paper's Table 1)"),
              Claim("… and being 60% faster", "abstract", True,
                    Reference("teacher", "the BERT model it distils", 12),
                    Number(0.60, "unstated", "about", "60% faster",
                           "less time, or more throughput?"),
                    source_text=_DISTILBERT, read_at="https://www.bibsonomy.de/bibtex/"
                    "2db84bb660ae7774bebbc75749810bbbd/tomvoelker")),
          method="a 6-layer student of BERT distilled during pre-training",
          notes=(_ON_TASK,)),
    Paper("tinybert", "TinyBERT: Distilling BERT for Natural Language Understanding",
          "Jiao, Yin, Shang, Jiang, Chen, Li, Wang & Liu", 2020, "Findings of EMNLP 2020",
          "1909.10351", (
              Claim("TinyBERT with 4 layers is empirically effective and achieves more than "
                    "96.8% the performance of its teacher BERTBASE on GLUE benchmark, while "
                    "being 7.5x smaller", "abstract", True, BERT_BASE,
                    Number(0.968, "score kept", "at least", "more than 96.8%"),
                    Number(1 / 7.5, "parameters kept", "about", "7.5x smaller",
                           "7.5x smaller: 13.3% kept; " + _SIZE_AS_PARAMETERS),
                    aggregate="on the GLUE benchmark (the abstract does not say dev or test)",
                    source_text=_TINYBERT,
                    read_at="https://paperswithcode.com/paper/190910351/review/"),
              Claim("… while being 7.5x smaller and 9.4x faster on inference", "abstract", True,
                    BERT_BASE, Number(9.4, "speed-up", "about", "9.4x faster"),
                    Number(1 / 7.5, "parameters kept", "about", "7.5x smaller",
                           "7.5x smaller: 13.3% kept; " + _SIZE_AS_PARAMETERS),
                    source_text=_TINYBERT,
                    read_at="https://paperswithcode.com/paper/190910351/review/",
                    unverified="the hardware and batch size of the speed measurement")),
          method="general and task-specific distillation with data augmentation",
          notes=(_ON_TASK[:-1] + ", no data augmentation)",)),
    Paper("minilm", "MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression "
          "of Pre-Trained Transformers", "Wang, Wei, Dong, Bao, Yang & Zhou", 2020,
          "NeurIPS 2020", "2002.10957", (
              Claim("it retains more than 99% accuracy on SQuAD 2.0 and several GLUE benchmark "
                    "tasks using 50% of the Transformer parameters and computations of the "
                    "teacher model", "abstract", True, Reference("teacher", "the teacher model"),
                    Number(0.99, "score kept", "at least", "more than 99%"),
                    Number(0.50, "transformer parameters kept", "about", "50%"),
                    "SQuAD 2.0 and several GLUE tasks", aggregate="on SQuAD 2.0 and several "
                    "GLUE tasks", source_text=_MINILM,
                    read_at="https://proceedings.neurips.cc/paper/2020/hash/"
                            "3f5ee243547dee91fbd053c1c4a845aa-Abstract.html"),),
          method="deep self-attention distillation (task-agnostic)",
          notes=(_ON_TASK,)),
    Paper("mobilebert", "MobileBERT: a Compact Task-Agnostic BERT for Resource-Limited "
          "Devices", "Sun, Yu, Song, Liu, Yang & Zhou", 2020, "ACL 2020", "2004.02984", (
              Claim("MobileBERT is 4.3x smaller and 5.5x faster than BERT_BASE", "abstract",
                    True, Reference("other", "BERT_BASE, not MobileBERT's teacher"),
                    Number(5.5, "speed-up", "about", "5.5x faster"),
                    Number(1 / 4.3, "parameters kept", "about", "4.3x smaller",
                           "4.3x smaller: 23.3% kept; " + _SIZE_AS_PARAMETERS),
                    source_text=_MOBILEBERT,
                    read_at="https://paperswithcode.com/paper/mobilebert-a-compact-task-"
                            "agnostic-bert-for/review/"),
              Claim("MobileBERT achieves a GLUEscore o[f] 77.7 (0.6 lower than BERT_BASE)",
                    "abstract", True, Reference("other", "BERT_BASE, not MobileBERT's teacher"),
                    Number(77.7, "GLUE score", "about", "77.7"),
                    source_text=_MOBILEBERT,
                    read_at="https://paperswithcode.com/paper/mobilebert-a-compact-task-"
                            "agnostic-bert-for/review/")),
          method="a thin, bottlenecked BERT_LARGE student, distilled layer by layer"),
    Paper("review", "Efficient Transformer Knowledge Distillation: A Performance Review",
          "Brown, Williamson, Anderson & Lawrence", 2023, "EMNLP 2023 Industry Track",
          "2311.13657", (
              Claim("preserving up to 98.6% across short-context tasks (GLUE, SQUAD, "
                    "CoNLL-2003)", "abstract", True, Reference("teacher", "the original model"),
                    Number(0.986, "score kept", "up to", "up to 98.6%"),
                    benchmark="GLUE, SQuAD and CoNLL-2003",
                    aggregate="the best case over GLUE, SQuAD and CoNLL-2003",
                    source_text=_REVIEW, read_at="https://aclanthology.org/2023.emnlp-industry.6/"),
              Claim("… while decreasing inference times by up to 57.8%", "abstract", True,
                    Reference("teacher", "the original model"),
                    Number(0.578, "inference time saved", "up to", "up to 57.8%"),
                    benchmark="GLUE, SQuAD, CoNLL-2003, HotpotQA, TriviaQA and GONERD",
                    source_text=_REVIEW, read_at="https://aclanthology.org/2023.emnlp-industry.6/",
                    unverified="the hardware and batch size of the timing")),
          method="distillation of efficient-attention transformers"),
    Paper("attendu", "NLU on Data Diets: Dynamic Data Subset Selection for NLP "
          "Classification Tasks", "Attendu & Corbeil", 2023, "arXiv preprint", "2306.03208", (
              Claim("Our method preserves full accuracy while training on 50% of the data "
                    "points", "abstract", True, Reference("full data", "the full train set"),
                    Number(1.0, "score kept", "at least", "full accuracy"),
                    Number(0.50, "training data kept", "about", "50%"),
                    "the GLUE benchmark and four joint NLU datasets",
                    aggregate="over GLUE and four joint NLU datasets",
                    source_text=_ATTENDU, read_at="https://arxiv.org/abs/2306.03208"),
              Claim("… while training on 50% of the data points and reduces computational "
                    "times by up to 41%", "abstract", True,
                    Reference("full data", "the full train set"),
                    Number(0.41, "training time saved", "up to", "up to 41%",
                           "computational times: read as fine-tuning time (the next sentence "
                           "speaks of finetuning time)"),
                    Number(0.50, "training data kept", "about", "50%"),
                    "the GLUE benchmark and four joint NLU datasets",
                    source_text=_ATTENDU, read_at="https://arxiv.org/abs/2306.03208"),
              Claim("If we tolerate instead a minor drop of accuracy of 1%, we can prune 80% of "
                    "the training examples", "abstract", True,
                    Reference("full data", "the full train set"),
                    Number(0.99, "unstated", "at least", "a minor drop of accuracy of 1%",
                           "relative, or in points?"),
                    Number(0.20, "training data kept", "about", "80%", "80% pruned: 20% kept"),
                    "the GLUE benchmark and four joint NLU datasets",
                    source_text=_ATTENDU, read_at="https://arxiv.org/abs/2306.03208")),
          method="dynamic data pruning by EL2N, re-scored during fine-tuning",
          notes=("our diet is static (scored once after the scoring epochs), the paper's "
                 "dynamic (re-scored during fine-tuning)",
                 "our training times leave out the scoring runs, the paper's include its "
                 "scoring")),
    Paper("paul", "Deep Learning on a Data Diet: Finding Important Examples Early in Training",
          "Paul, Ganguli & Dziugaite", 2021, "NeurIPS 2021", "2107.07075", (
              Claim("using EL2N scores calculated a few epochs into training, we can prune half "
                    "of the CIFAR10 training set while slightly improving test accuracy",
                    "abstract", True, Reference("full data", "the full training set"),
                    Number(1.0, "score kept", "at least", "slightly improving test accuracy"),
                    Number(0.50, "training data kept", "about", "half", "half pruned: 50% kept"),
                    "CIFAR-10 image classification", on_glue=False, source_text=_PAUL,
                    read_at="https://papers.neurips.cc/paper_files/paper/2021/hash/"
                            "ac56f8fe9eea3e4a365f29f0f1957c55-Abstract.html"),),
          method="EL2N: the L2 norm of softmax minus one-hot, early in training (our words)"),
    Paper("toneva", "An Empirical Study of Example Forgetting during Deep Neural Network "
          "Learning", "Toneva, Sordoni, Tachet des Combes, Trischler, Bengio & Gordon", 2019,
          "ICLR 2019", "1812.05159", (
              Claim("based on forgetting dynamics, a significant fraction of examples can be "
                    "omitted from the training data set while still maintaining "
                    "state-of-the-art generalization performance", "abstract", True,
                    benchmark="image classification benchmarks", on_glue=False,
                    source_text=_TONEVA, read_at="https://microsoft.com/en-us/research/?p=595489"),),
          method="forgetting events, counted as here"),
)}

STUDY_PAPERS = {"layer-drop": ("sajjad",),
                "distill": ("hinton", "distilbert", "tinybert", "minilm", "mobilebert", "review"),
                "data-diet": ("attendu", "paul", "toneva")}


def quote_fragments(quote: str) -> list[str]:
    """The verbatim pieces of a quote: split at elisions, editorial [insertions] removed."""
    plain = re.sub(r"\[[^\]]*\]", "", quote)
    return [f.strip() for f in plain.split("…") if f.strip()]


def setting_differences(paper: Paper, claim: Claim, facts: dict) -> list[str]:
    """Why our run is not the paper's setting (empty: the same). ``facts``: our reference
    model's layers (``layers``, named by ``role``) and whether train was subsampled."""
    out = []
    layers = claim.reference.layers if claim.reference else None
    if layers and facts.get("layers") != layers:
        out.append(f"our {facts.get('role', 'encoder')} has {facts.get('layers')} layers, "
                   f"the paper's {layers}")
    if facts.get("subsampled"):
        out.append("we train on a subsample of each training set, the paper on all of it")
    if claim.aggregate:
        out.append(f"the paper's number is {claim.aggregate}; ours is per task, on dev")
    return out + list(paper.notes)
