"""A GGUF model converted once (gluebench.lm.gguf_cache): the converted folder computes what the
GGUF file computes, is checked on every read, and is written whole or not at all.

The real check is on the embedded SmolLM2-135M (slow): the model transformers reads from the
GGUF file against the one read back from its converted folder — every weight bit for bit, the
token ids of awkward texts, and the log-probabilities of a batch. The folder mechanics run on
``tiny_llama`` (a normal model folder: seconds).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from gluebench.errors import GlueBenchWarning
from gluebench.lm import gguf_cache, hf_backend
from gluebench.lm.hf_backend import ModelRef, embedded_model

TEXTS = ["Hello world", " yes", "Question: Is it true?\nAnswer:", "Ünïcödé 東京 🙂 naïve",
         "  two  spaces\n\n\ttab", "<|im_start|>user\nhi<|im_end|>", "don't 1,234.5 $US"]


def _tiny(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(tiny_llama),
            AutoTokenizer.from_pretrained(tiny_llama))


@pytest.mark.slow
def test_smollm2_from_its_converted_folder_equals_smollm2_from_the_gguf_file(smollm2):
    """The session's SmolLM2 came either from the GGUF file (this process converted it: it
    still carries transformers' GGUF marker) or from the folder another process converted;
    the other one is read here."""
    import torch

    ref = embedded_model()
    folder = gguf_cache.folder_for(hf_backend.Path(ref.path) / ref.gguf_file)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gguf_cache.verified(folder)
    if getattr(smollm2.model, "hf_quantizer", None) is not None:   # read from the GGUF file
        direct, direct_tok = smollm2.model, smollm2.tokenizer
        converted, converted_tok = hf_backend._from_pretrained(ref, str(folder), None,
                                                               torch.float32)
    else:                                                          # read from the folder
        converted, converted_tok = smollm2.model, smollm2.tokenizer
        direct, direct_tok = hf_backend._from_pretrained(ref, ref.path, ref.gguf_file,
                                                         torch.float32)
    assert getattr(converted, "hf_quantizer", None) is None
    assert type(converted) is type(direct)

    want, got = direct.state_dict(), converted.state_dict()
    assert set(want) == set(got)
    for name in want:
        assert torch.equal(want[name], got[name]), name
    assert converted.lm_head.weight.data_ptr() == converted.model.embed_tokens.weight.data_ptr()
    assert [converted_tok(t)["input_ids"] for t in TEXTS] == \
        [direct_tok(t)["input_ids"] for t in TEXTS]
    assert (converted_tok.bos_token, converted_tok.eos_token, converted_tok.pad_token) == \
        (direct_tok.bos_token, direct_tok.eos_token, direct_tok.pad_token)
    assert hf_backend._max_length(converted, converted_tok) == \
        hf_backend._max_length(direct, direct_tok)

    batch = direct_tok(TEXTS[:4], return_tensors="pt", padding=True)
    with torch.no_grad():
        a = torch.log_softmax(direct(**batch).logits, -1)
        b = torch.log_softmax(converted(**batch).logits, -1)
    assert torch.equal(a, b)


def test_a_converted_folder_is_checked_on_every_read(tmp_path, tiny_llama):
    model, tokenizer = _tiny(tiny_llama)
    folder = tmp_path / "converted"
    gguf_cache.save(folder, model, tokenizer)
    assert not list(tmp_path.glob(".converting-*"))  # the temporary folder was renamed
    manifest = json.loads((folder / gguf_cache.MANIFEST).read_text())["files"]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gguf_cache.verified(folder)

    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last weight: still a loadable file
    weights.write_bytes(bytes(data))
    with pytest.warns(GlueBenchWarning, match="do not match their manifest"):
        assert not gguf_cache.verified(folder)
    assert not folder.exists()  # removed, so the next load converts again


def test_a_folder_without_its_manifest_is_not_used(tmp_path, tiny_llama):
    model, tokenizer = _tiny(tiny_llama)
    folder = tmp_path / "converted"
    gguf_cache.save(folder, model, tokenizer)
    (folder / gguf_cache.MANIFEST).unlink()
    with pytest.warns(GlueBenchWarning):
        assert not gguf_cache.verified(folder)
    assert not gguf_cache.verified(tmp_path / "never-written")  # absent: quietly a miss


def test_the_folder_name_follows_the_files_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("GLUEBENCH_GGUF_CACHE", str(tmp_path / "cache"))
    one, two = tmp_path / "a.gguf", tmp_path / "b.gguf"
    one.write_bytes(b"GGUF" + bytes(100))
    two.write_bytes(b"GGUF" + bytes(100))
    assert gguf_cache.folder_for(one) == gguf_cache.folder_for(two)
    two.write_bytes(b"GGUF" + bytes(99) + b"\x01")
    assert gguf_cache.folder_for(one) != gguf_cache.folder_for(two)
    assert gguf_cache.folder_for(one).parent == tmp_path / "cache"


def test_none_switches_the_cache_off_and_a_model_folder_never_uses_it(tmp_path, monkeypatch,
                                                                       tiny_llama):
    monkeypatch.setenv("GLUEBENCH_GGUF_CACHE", "none")
    assert not gguf_cache.enabled()
    monkeypatch.setenv("GLUEBENCH_GGUF_CACHE", str(tmp_path / "cache"))
    assert gguf_cache.enabled()
    hf_backend.load.cache_clear()
    model, _ = hf_backend.load(ModelRef(str(tiny_llama), None, "tiny"), "cpu")
    assert model.config.num_hidden_layers == 2
    assert not (tmp_path / "cache").exists()   # a model folder is read where it is


def test_a_cache_that_cannot_be_written_warns_and_the_model_still_loads(tmp_path, monkeypatch,
                                                                        tiny_llama):
    """A full or read-only disk: the conversion is used for this run, with one warning."""
    import shutil

    shutil.copytree(tiny_llama, tmp_path / "model")
    (tmp_path / "model" / "m.gguf").write_bytes(b"GGUF" + bytes(20))   # stands in for a GGUF
    monkeypatch.setenv("GLUEBENCH_GGUF_CACHE", str(tmp_path / "cache"))

    def tiny_instead_of_gguf(ref, path, gguf_file, dtype):  # the reader itself is tested above
        return _tiny(tiny_llama)

    def disk_full(folder, model, tokenizer):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hf_backend, "_from_pretrained", tiny_instead_of_gguf)
    monkeypatch.setattr(gguf_cache, "save", disk_full)
    hf_backend.load.cache_clear()
    with pytest.warns(GlueBenchWarning, match="could not keep the converted model"):
        model, _ = hf_backend.load(ModelRef(str(tmp_path / "model"), "m.gguf", "m"), "cpu")
    assert model.config.num_hidden_layers == 2
    assert not any(p.is_dir() for p in (tmp_path / "cache").iterdir())
    hf_backend.load.cache_clear()


def test_state_dict_bytes_round_trip(tmp_path, tiny_llama):
    """The saved weights are the model's own fp32 values (no dtype change on the way)."""
    from transformers import AutoModelForCausalLM

    model, tokenizer = _tiny(tiny_llama)
    gguf_cache.save(tmp_path / "c", model, tokenizer)
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "c")
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), again.state_dict()[name].numpy(), name)
