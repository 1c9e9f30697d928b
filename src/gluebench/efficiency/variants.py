"""Ways to run one model: PyTorch fp32, int8 dynamic quantisation, ONNX Runtime.

Each variant is a *forward*: a function from a padded numpy batch (``input_ids``,
``attention_mask``, maybe ``token_type_ids``, as ``Encoded.batch`` makes them) to
float32 logits on the host. Timing a forward therefore includes the host-to-device
copy and bringing the logits back (which also synchronises a GPU), but not
tokenisation, the same for every variant.

* int8: ``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear`` (weights
  int8, activations quantised on the fly); CPU only.
* ONNX: exported with the TorchScript exporter (``dynamo=False``: fast and reliable for
  BERT-style encoders; the dynamo exporter is the fallback), dynamic batch and sequence
  axes, run by ``onnxruntime``.
"""

from __future__ import annotations

import copy
import inspect
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

Forward = Callable[[dict[str, np.ndarray]], np.ndarray]
ONNX_MISSING = "onnxruntime is not installed: pip install onnxruntime onnx"
INT8_CUDA = ("int8 dynamic quantisation (torch.ao quantize_dynamic) runs on the CPU only; "
             "profile with --device cpu")
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def torch_forward(model, device: str) -> Forward:
    """The PyTorch model as a forward (eval mode, ``inference_mode``)."""
    import torch

    model.eval()

    def forward(batch: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(device) for k, v in batch.items()}
            # .cpu() waits for the GPU: the timing around a call is synchronised.
            return model(**inputs).logits.float().cpu().numpy()

    return forward


def state_dict_bytes(model) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the size of the model as saved."""
    import torch

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state_dict.pt"
        torch.save(model.state_dict(), path)
        return path.stat().st_size


def onnx_unavailable() -> str | None:
    """Why the ONNX variant cannot run here, or None."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return ONNX_MISSING
    return None


def onnx_input_names(model) -> list[str]:
    """The inputs the exported graph takes: those of ``ONNX_INPUTS`` the model's forward has."""
    accepted = inspect.signature(model.forward).parameters
    return [name for name in ONNX_INPUTS if name in accepted]


def _logits_module(model, names: list[str]):
    """``model`` with its inputs in ``names``' order and one output, the logits."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            given = {"input_ids": input_ids, "attention_mask": attention_mask,
                     "token_type_ids": token_type_ids}
            return self.model(**{k: given[k] for k in names}).logits

    return Logits()


def export_onnx(model, path: str | os.PathLike, sample: dict[str, np.ndarray]) -> Path:
    """Export ``model`` to ``path`` (.onnx) with dynamic batch and sequence axes.

    The TorchScript exporter first (about 1 s for MiniLM); where it fails (or a future
    torch drops it), the dynamo exporter. ``sample``: a batch of at least 2 examples of
    at least 2 tokens, so that no axis is specialised to size 1.
    """
    import torch

    cpu_model = copy.deepcopy(model).float().cpu().eval()
    names = onnx_input_names(cpu_model)
    wrapper = _logits_module(cpu_model, names)
    args = tuple(torch.from_numpy(_input(sample, name)) for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"logits": {0: "batch"}}
    common = {"input_names": names, "output_names": ["logits"], "do_constant_folding": True}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notices
        try:
            torch.onnx.export(wrapper, args, str(path), dynamo=False, dynamic_axes=axes,
                              opset_version=17, **common)
        except Exception:  # noqa: BLE001 - the dynamo exporter is the fallback
            batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
            torch.onnx.export(wrapper, args, str(path), dynamo=True, verbose=False,
                              dynamic_shapes=tuple({0: batch, 1: sequence} for _ in names),
                              external_data=False, **common)
    return Path(path)


def _input(batch: dict[str, np.ndarray], name: str) -> np.ndarray:
    """``batch[name]``; token types default to zeros (single-sentence tasks), as in the model."""
    if name in batch:
        return batch[name]
    return np.zeros_like(batch["input_ids"])


def onnx_providers(device: str) -> list[str] | None:
    """Execution providers for ``device``, or None when onnxruntime cannot run there."""
    import onnxruntime

    if device != "cuda":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return None
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def onnx_forward(path: str | os.PathLike, providers: list[str], threads: int) -> Forward:
    """An onnxruntime session over the exported graph, as a forward."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads  # as many as torch uses: a fair comparison
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    names = [i.name for i in session.get_inputs()]

    def forward(batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: _input(batch, name).astype(np.int64, copy=False) for name in names}
        return np.asarray(session.run(["logits"], feed)[0], dtype=np.float32)

    return forward


def folder_bytes(folder: str | os.PathLike) -> int:
    """Bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
