"""A GGUF model converted once (gluebench.lm.gguf_cache): the converted folder computes what the
GGUF file computes, is checked on every read, and is written whole or not at all.

The real check is on the embedded SmolLM2-135M (slow): its converted folder against the GGUF
file as llama.cpp's own reader de-quantises it — every weight bit for bit, the shape settings,
the vocabulary — and the token ids of awkward texts against transformers' GGUF tokenizer.
The folder mechanics run on ``tiny_llama`` (a normal model folder: seconds).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

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


# llama.cpp's names for a Llama's tensors (its convert_hf_to_gguf.py), ours after `{i}`
GGUF_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm",
              "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
              "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
              "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
              "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def _hf_name(gguf_name: str) -> str:
    parts = gguf_name.split(".")   # token_embd.weight | blk.3.attn_q.weight
    if parts[0] == "blk":
        return f"model.layers.{parts[1]}.{GGUF_NAMES[parts[2]]}.{parts[3]}"
    return f"{GGUF_NAMES[parts[0]]}.{parts[1]}"


def _unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's row permutation of q/k projections (its convert script's `permute`)."""
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(
        w.shape)


def _field(reader, key):
    field = reader.fields[key]
    values = [field.parts[i] for i in field.data]
    if len(values) == 1 and field.types[0].name != "ARRAY":
        value = values[0]
        return bytes(value).decode() if value.dtype == np.uint8 else value.item()
    return [bytes(v).decode() if v.dtype == np.uint8 else v.item() for v in values]


@pytest.mark.slow
def test_smollm2_converted_folder_holds_exactly_what_its_gguf_file_holds(smollm2):
    """The folder the session's SmolLM2 was converted to, against the GGUF file as llama.cpp's
    own reader (the gguf package) reads and de-quantises it: every tensor bit for bit, the
    shape settings, the vocabulary, merges and special tokens; and the token ids of awkward
    texts against the tokenizer transformers builds from the GGUF file."""
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    ref = embedded_model()
    gguf = Path(ref.path) / ref.gguf_file
    folder = gguf_cache.folder_for(gguf)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gguf_cache.verified(folder)
    reader = GGUFReader(gguf)
    heads = {"attn_q": _field(reader, "llama.attention.head_count"),
             "attn_k": _field(reader, "llama.attention.head_count_kv")}
    saved = load_file(str(folder / "model.safetensors"))
    assert len(saved) == len(reader.tensors)     # tied: no separate output.weight in either
    for tensor in reader.tensors:
        want = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        want = want.reshape([int(n) for n in reversed(tensor.shape)])
        kind = tensor.name.split(".")[-2]
        if kind in heads:
            want = _unpermute(want, heads[kind])
        got = saved[_hf_name(tensor.name)]
        assert got.dtype == np.float32 and np.array_equal(got, want), tensor.name

    config = json.loads((folder / "config.json").read_text())
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == \
        (heads["attn_q"], heads["attn_k"])
    assert config["num_hidden_layers"] == _field(reader, "llama.block_count")
    rope = config.get("rope_theta") or config["rope_parameters"]["rope_theta"]  # 4.x | 5.x
    assert rope == _field(reader, "llama.rope.freq_base")
    assert config["max_position_embeddings"] == _field(reader, "llama.context_length")
    assert config["rms_norm_eps"] == pytest.approx(
        _field(reader, "llama.attention.layer_norm_rms_epsilon"), rel=1e-6)
    assert config["tie_word_embeddings"] is True

    converted = AutoTokenizer.from_pretrained(folder)
    tokens = _field(reader, "tokenizer.ggml.tokens")
    assert [converted.convert_ids_to_tokens(i) for i in range(len(tokens))] == tokens
    assert converted.bos_token_id == _field(reader, "tokenizer.ggml.bos_token_id")
    assert converted.eos_token_id == _field(reader, "tokenizer.ggml.eos_token_id")
    from_gguf = AutoTokenizer.from_pretrained(ref.path, gguf_file=ref.gguf_file)
    assert [converted(t)["input_ids"] for t in TEXTS] == [from_gguf(t)["input_ids"] for t in TEXTS]
    # and the session's model (from the file or from the folder) is those weights
    assert np.array_equal(smollm2.model.model.embed_tokens.weight.detach().numpy(),
                          saved["model.embed_tokens.weight"])


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
