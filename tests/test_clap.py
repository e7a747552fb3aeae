"""CLAP through `transformers`, on a tiny randomly initialised ClapModel saved to a folder (nothing is downloaded).

Skipped where the optional `transformers` package is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

tf = pytest.importorskip("transformers")

from sgn_teach.core.config import get_preset  # noqa: E402
from sgn_teach.core.errors import SGNError  # noqa: E402
from sgn_teach.hub.audio_text import load_embedding  # noqa: E402
from sgn_teach.hub.clap import ClapEmbedding  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _byte_alphabet() -> list[str]:
    """GPT-2's byte → printable character table (what a byte-level BPE vocabulary starts from)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def make_tiny_clap(folder: Path, truncation: str = "rand_trunc") -> Path:
    """Save a tiny random ClapModel + ClapProcessor (a character-level RoBERTa tokenizer) into `folder`."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in _byte_alphabet():
        vocab[ch] = len(vocab)
    vocab["<mask>"] = len(vocab)
    tokenizer = tf.RobertaTokenizer(vocab=vocab, merges=[])
    extractor = tf.ClapFeatureExtractor(feature_size=16, sampling_rate=48000, hop_length=480, max_length_s=2,
                                        fft_window_size=1024, truncation=truncation, padding="repeatpad")
    config = tf.ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=37, max_position_embeddings=64, type_vocab_size=1, pad_token_id=1,
                         bos_token_id=0, eos_token_id=2),
        audio_config=dict(num_mel_bins=16, spec_size=64, window_size=4, patch_size=2, patch_stride=2, hidden_size=32,
                          patch_embeds_hidden_size=16, depths=[1, 1], num_attention_heads=[2, 2], intermediate_size=37,
                          projection_dim=16, enable_fusion=False),
        projection_dim=16)
    torch.manual_seed(0)
    tf.ClapModel(config).save_pretrained(folder)
    tf.ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_clap(tmp_path_factory) -> Path:
    return make_tiny_clap(tmp_path_factory.mktemp("clap"))


@pytest.mark.parametrize("truncation", ["rand_trunc", "fusion"])
def test_differentiable_log_mel_matches_the_feature_extractor(tmp_path, truncation):
    import torchaudio

    folder = make_tiny_clap(tmp_path / truncation, truncation)
    emb = ClapEmbedding.from_pretrained(str(folder))
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 16383)).astype(np.float32) * 0.1)
    x48 = torchaudio.functional.resample(wave, 11025, 48000).double().numpy()
    ref = emb.processor.feature_extractor(list(x48), sampling_rate=48000, return_tensors="pt")["input_features"]
    ours = emb.log_mel(wave)
    assert ours.shape == ref.shape
    assert (ours - ref.float()).abs().max() < 0.01  # dB, float32 against float64


def test_clap_embedding_by_name_is_differentiable(tiny_clap):
    emb = load_embedding(f"clap:{tiny_clap}")
    assert emb.dim == 16 and emb.sample_rate == 11025
    wave = (torch.randn(3, 16383) * 0.1).requires_grad_(True)
    a = emb.audio_features(wave)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(3))
    a[:, 0].sum().backward()
    assert wave.grad is not None and wave.grad.abs().sum() > 0
    t = emb.text_features(["the sound of a cello", "a flute"])
    assert t.shape == (2, 16)
    assert not any(p.requires_grad for p in emb.parameters())


def test_weak_training_step_with_clap(tiny_clap, tmp_path):
    """The whole weak step runs on CLAP embeddings: text_dim follows the model's projection size."""
    from sgn_teach.data import synth_library
    from sgn_teach.training import train

    lib = synth_library(tmp_path / "lib", clips_per_class=4, seed=0, duration=2.0, progress=False)
    cfg = get_preset("tiny", "text", train__steps=1, train__batch_size=1)
    cfg.weak.embedding = f"clap:{tiny_clap}"
    h = train(cfg, lib, tmp_path / "run", device="cpu", progress=False, validate_during=False)
    saved = json.loads(torch.load(tmp_path / "run" / "model.pt", weights_only=True)["config"])
    assert saved["model"]["text_dim"] == 16 and np.isfinite(h["train"][0]["total"]) and h["train"][0]["bimodal"] > 0


def test_offline_clap_is_one_clear_line():
    code = ("from sgn_teach.hub.audio_text import load_embedding\n"
            "from sgn_teach.core.errors import SGNError\n"
            "try:\n    load_embedding('clap:laion/clap-htsat-unfused')\n"
            "except SGNError as e:\n    print('ERR', e)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-sgn-teach-hf-home"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("ERR")]
    assert len(lines) == 1 and "could not load CLAP 'laion/clap-htsat-unfused'" in lines[0] and "no network" in lines[0]
    assert "\n" not in lines[0]


def test_unreachable_hub_is_one_line_at_once_not_retries(tmp_path):
    """Issue 24: offline *without* HF_HUB_OFFLINE the hub client retried 5 times (11 warnings, ~25 s). A name that is
    not in the cache, with the hub unreachable, must give one line quickly and no retry warnings."""
    code = ("import time\nfrom sgn_teach.hub.audio_text import load_embedding\n"
            "from sgn_teach.core.errors import SGNError\n"
            "t0 = time.time()\ntry:\n    load_embedding('clap:laion/clap-htsat-unfused')\n"
            "except SGNError as e:\n    print('ERR', e)\nprint('SECONDS', time.time() - t0)\n")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT="http://127.0.0.1:9")  # nothing listens on the discard port
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("ERR")]
    assert len(lines) == 1 and "no network" in lines[0] and "cannot be reached" in lines[0], out.stdout + out.stderr
    assert "Retrying" not in out.stderr and "Retrying" not in out.stdout
    seconds = float(out.stdout.split("SECONDS")[-1])
    assert seconds < 10, f"the failed load took {seconds:.1f} s"


def test_missing_transformers_is_one_clear_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "transformers":
            raise ImportError("no transformers")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(SGNError, match=r'pip install "sgn-teach\[clap\]"'):
        load_embedding("clap")
