"""Task shapes: how an encoder (fine-tuned or probed) reads a suite task's rows.

``framing.frame(table)`` turns an ``ExampleTable`` into text pairs to classify, or into
options to choose among (COPA's alternatives, ReCoRD's candidate entities), read from the
suite definition alone; see ``framing``.
"""
