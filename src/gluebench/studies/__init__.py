"""Studies from the literature, each a sweep with a fixed design.

``layer_drop`` (Sajjad et al.), ``distill`` (task-specific knowledge distillation) and
``data_diet`` (EL2N / forgetting scores, Attendu & Corbeil) each turn their command's
settings into a :class:`design.Study`: named variants of one ``TrainConfig`` per task,
and the control each variant is compared with. ``design`` runs a study's trials through
the sweep machinery (content-addressed, resumable, any executor) and profiles each
variant; ``compare`` pairs variants with their controls (bootstrap CI, permutation test
over seeds and examples); ``papers`` holds each paper's headline claims, with their source
and units; ``retained`` puts our numbers in those units, ``claims`` compares like with like.
The training-time mechanics live in ``train``: each study's settings dataclass and its
hooks (``train.hooks``: a model transform in ``pruning``, a loss term in ``distillation``,
a data transform in ``diet``), below the drivers so that any run rebuilds them from its
recorded config.
"""
