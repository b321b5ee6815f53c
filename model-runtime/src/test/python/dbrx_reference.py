#!/usr/bin/env python3
"""A float64 numpy reference of the DBRX forward pass, written from the architecture notes
(/work/shared/dbrx/SPEC.md, sections 2 and 3), not from the Java runtime.

It reads a Hugging Face DBRX checkpoint (config.json plus one safetensors file or a sharded
model.safetensors.index.json) with numpy alone and runs the whole prompt at once: no KV cache,
no batching, every product and softmax in float64.

  check DIR...       compare with DIR/expected-logits.json (the shared golden outputs); exit 1
                     if any logit differs by more than 1e-6
  embeddings DIR...  write DIR/expected-embeddings.json: mean and last-token pooling of the
                     final hidden states (the output of norm_f) of the golden prompt, each
                     scaled to unit L2 norm

See README.md next to this file.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

CHECK_TOLERANCE = 1e-6
LAYER_NORM_EPS = 1e-5


# --- checkpoint -------------------------------------------------------------------------------


def read_safetensors(path):
    """Every tensor of one safetensors file, widened to float64."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        shape = info["shape"]
        dtype = info["dtype"]
        if dtype == "BF16":
            # bfloat16 is the high half of a float32: widen by shifting the bits up.
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        elif dtype == "F32":
            values = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            values = np.frombuffer(raw, dtype="<f2")
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype}, not BF16/F16/F32")
        tensors[name] = values.astype(np.float64).reshape(shape)
    return tensors


def read_checkpoint(folder):
    index = folder / "model.safetensors.index.json"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(folder / name))
    return tensors


class Config:
    def __init__(self, folder):
        c = json.loads((folder / "config.json").read_text())
        attn = c.get("attn_config", {})
        ffn = c.get("ffn_config", {})
        self.d_model = c["d_model"]
        self.n_heads = c["n_heads"]
        self.n_layers = c["n_layers"]
        self.kv_heads = attn.get("kv_n_heads", 1)
        self.clip_qkv = attn.get("clip_qkv")
        self.rope_theta = attn.get("rope_theta", 10000.0)
        self.ffn = ffn["ffn_hidden_size"]
        self.experts = ffn["moe_num_experts"]
        self.top_k = ffn["moe_top_k"]
        # Absent means 1 (an L1 renormalisation), not "no renormalisation" (SPEC 1.1).
        self.normalize_p = ffn.get("moe_normalize_expert_weights", 1.0)
        act = (ffn.get("ffn_act_fn") or {}).get("name", "silu")
        if act != "silu":
            raise ValueError(f"ffn_act_fn {act}: only silu is implemented")
        self.head_dim = self.d_model // self.n_heads


# --- forward pass (SPEC section 3) ------------------------------------------------------------


def layer_norm(x, gamma):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gamma


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def rope(x, theta):
    """Rotate-half RoPE on [heads, T, head_dim], positions 0..T-1 (SPEC 3.5)."""
    half = x.shape[-1] // 2
    inv_freq = theta ** (-np.arange(half, dtype=np.float64) * 2 / x.shape[-1])
    angles = np.arange(x.shape[1], dtype=np.float64)[:, None] * inv_freq[None, :]
    cos, sin = np.cos(angles), np.sin(angles)
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)


def attention(a, w, cfg, prefix):
    T = a.shape[0]
    hd = cfg.head_dim
    qkv = a @ w[prefix + "attn.Wqkv.weight"].T
    if cfg.clip_qkv is not None:
        qkv = np.clip(qkv, -cfg.clip_qkv, cfg.clip_qkv)
    q_width, kv_width = cfg.n_heads * hd, cfg.kv_heads * hd
    q = qkv[:, :q_width].reshape(T, cfg.n_heads, hd).transpose(1, 0, 2)
    k = qkv[:, q_width : q_width + kv_width].reshape(T, cfg.kv_heads, hd).transpose(1, 0, 2)
    v = qkv[:, q_width + kv_width :].reshape(T, cfg.kv_heads, hd).transpose(1, 0, 2)
    q, k = rope(q, cfg.rope_theta), rope(k, cfg.rope_theta)
    # GQA: query head h reads KV head h // group (consecutive repeat).
    group = cfg.n_heads // cfg.kv_heads
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
    causal = np.triu(np.ones((T, T), dtype=bool), k=1)
    scores[:, causal] = -np.inf
    out = softmax(scores) @ v  # [heads, T, hd]
    return out.transpose(1, 0, 2).reshape(T, q_width) @ w[prefix + "attn.out_proj.weight"].T


def moe(b, w, cfg, prefix):
    probs = softmax(b @ w[prefix + "router.layer.weight"].T)  # [T, experts]
    w1 = w[prefix + "experts.mlp.w1"].reshape(cfg.experts, cfg.ffn, cfg.d_model)
    v1 = w[prefix + "experts.mlp.v1"].reshape(cfg.experts, cfg.ffn, cfg.d_model)
    w2 = w[prefix + "experts.mlp.w2"].reshape(cfg.experts, cfg.ffn, cfg.d_model)
    out = np.zeros_like(b)
    for t in range(b.shape[0]):
        chosen = np.argsort(-probs[t], kind="stable")[: cfg.top_k]
        weights = probs[t, chosen]
        if cfg.normalize_p:
            weights = weights / np.sum(weights**cfg.normalize_p) ** (1 / cfg.normalize_p)
        for e, weight in zip(chosen, weights):
            gate = b[t] @ w1[e].T
            up = b[t] @ v1[e].T
            silu = gate / (1 + np.exp(-gate))
            out[t] += weight * ((silu * up) @ w2[e])  # w2 is [ffn, d]: no transpose (SPEC 2.2)
    return out


def final_hidden(ids, w, cfg):
    """The output of norm_f, [T, d_model]."""
    x = w["transformer.wte.weight"][ids]
    for layer in range(cfg.n_layers):
        p = f"transformer.blocks.{layer}."
        a = layer_norm(x, w[p + "norm_attn_norm.norm_1.weight"])
        h = x + attention(a, w, cfg, p + "norm_attn_norm.")
        b = layer_norm(h, w[p + "norm_attn_norm.norm_2.weight"])
        x = h + moe(b, w, cfg, p + "ffn.")
    return layer_norm(x, w["transformer.norm_f.weight"])


def unit(v):
    return v / np.linalg.norm(v)


# --- commands ---------------------------------------------------------------------------------


def load(folder):
    cfg = Config(folder)
    weights = read_checkpoint(folder)
    ids = json.loads((folder / "expected-logits.json").read_text())["ids"]
    return cfg, weights, ids


def check(folder):
    cfg, w, ids = load(folder)
    expected = json.loads((folder / "expected-logits.json").read_text())
    logits = final_hidden(ids, w, cfg) @ w["lm_head.weight"].T
    if "logits" in expected:
        worst = np.abs(logits - np.array(expected["logits"])).max()
    else:
        top_ids = np.array(expected["top_ids"])
        mine = np.take_along_axis(logits, top_ids, axis=1)
        worst = np.abs(mine - np.array(expected["top_logits"])).max()
        # The reference's top ids must also be this one's top ids, in the same order.
        ours = np.argsort(-logits, axis=1, kind="stable")[:, : top_ids.shape[1]]
        if not np.array_equal(ours, top_ids):
            print(f"{folder.name}: top ids differ from the golden top ids")
            return False
    ok = worst <= CHECK_TOLERANCE
    print(f"{folder.name}: {len(ids)} positions, max |logit - golden| = {worst:.3e} "
          f"({'ok' if ok else 'FAIL'}, tolerance {CHECK_TOLERANCE:g})")
    return ok


def embeddings(folder):
    cfg, w, ids = load(folder)
    hidden = final_hidden(ids, w, cfg)
    out = {
        "ids": ids,
        "hidden_state": "output of norm_f (the final LayerNorm), per token",
        "mean": unit(hidden.mean(axis=0)).tolist(),
        "last": unit(hidden[-1]).tolist(),
    }
    target = folder / "expected-embeddings.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}")


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "embeddings"):
        print(__doc__)
        return 2
    folders = [Path(a) for a in argv[2:]]
    if argv[1] == "check":
        results = [check(f) for f in folders]
        return 0 if all(results) else 1
    for f in folders:
        embeddings(f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
