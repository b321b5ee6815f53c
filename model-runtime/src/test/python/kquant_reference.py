#!/usr/bin/env python3
"""Float64 logits of a K-quant GGUF DBRX model, on its weights dequantized by numpy.

Reads a GGUF v3 file with numpy alone, decodes F32, Q8_0, Q4_K, Q5_K and Q6_K tensors with
decoders written from ggml's block layouts (ggml-common.h, dequantize_row_* in ggml-quants.c), not
from the Java runtime, in float32 as ggml does, and runs the float64 forward pass of
dbrx_reference.py on them.

  kquant_reference.py MODEL.gguf PROMPT.json OUT.json

PROMPT.json holds "ids" (the golden prompt); OUT.json gets the file's SHA-256, the ids, and per
position the 16 largest logits (top_ids, top_logits), as the full-vocabulary golden sets have them.
See README.md next to this file.
"""
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

import dbrx_reference as ref

TOP = 16

# ggml type id: (block size in weights, block size in bytes)
F32, Q8_0, Q4_K, Q5_K, Q6_K = 0, 8, 12, 13, 14
BLOCKS = {F32: (1, 4), Q8_0: (32, 34), Q4_K: (256, 144), Q5_K: (256, 176), Q6_K: (256, 210)}


# --- GGUF file --------------------------------------------------------------------------------


class Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        n = self.take("Q")
        s = self.data[self.at : self.at + n].decode("utf-8")
        self.at += n
        return s

    SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
               12: "d"}

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            item, n = self.take("I"), self.take("Q")
            return [self.value(item) for _ in range(n)]
        return self.take(self.SCALARS[kind])


def read_gguf(path):
    """(metadata, {name: float32 array in GGUF's row-major shape})."""
    data = path.read_bytes()
    r = Reader(data)
    magic, version, n_tensors, n_kv = r.take("IIQQ")
    if magic != 0x46554747 or version != 3:
        raise ValueError(f"{path}: not a GGUF v3 file")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("Q") for _ in range(r.take("I"))]
        infos.append((name, dims[::-1], r.take("I"), r.take("Q")))
    align = meta.get("general.alignment", 32)
    start = (r.at + align - 1) // align * align
    tensors = {}
    for name, shape, kind, offset in infos:
        count = int(np.prod(shape))
        per_block, block_bytes = BLOCKS[kind]
        raw = np.frombuffer(data, np.uint8, count // per_block * block_bytes, start + offset)
        tensors[name] = DECODERS[kind](raw.reshape(-1, block_bytes)).reshape(shape)
    return meta, tensors, hashlib.sha256(data).hexdigest()


# --- block decoders (all arithmetic in float32, as ggml's) -------------------------------------


def f16(blocks, at):
    return blocks[:, at : at + 2].copy().view(np.float16).astype(np.float32)  # [n, 1]


def decode_f32(blocks):
    return blocks.reshape(-1).view(np.float32)


def decode_q8_0(blocks):
    return (f16(blocks, 0) * blocks[:, 2:].view(np.int8).astype(np.float32)).reshape(-1)


def scales_and_mins(q):
    """The 8 six-bit scales and mins of 12 packed bytes q [n, 12] (get_scale_min_k4)."""
    q = q.astype(np.int32)
    sc = np.empty((q.shape[0], 8), np.int32)
    mn = np.empty((q.shape[0], 8), np.int32)
    sc[:, :4] = q[:, 0:4] & 63
    mn[:, :4] = q[:, 4:8] & 63
    sc[:, 4:] = (q[:, 8:12] & 0x0F) | ((q[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (q[:, 8:12] >> 4) | ((q[:, 4:8] >> 6) << 4)
    return sc.astype(np.float32), mn.astype(np.float32)


def k_quant(blocks, codes):
    """d * scale_j * code - dmin * min_j over 8 sub-blocks of 32 codes [n, 8, 32]."""
    sc, mn = scales_and_mins(blocks[:, 4:16])
    d1 = f16(blocks, 0) * sc  # float32 products, as ggml: (d * sc) * q - (dmin * m)
    m1 = f16(blocks, 2) * mn
    return (d1[:, :, None] * codes.astype(np.float32) - m1[:, :, None]).reshape(-1)


def decode_q4_k(blocks):
    qs = blocks[:, 16:144].reshape(-1, 4, 32)  # chunk k: sub-blocks 2k (low) and 2k+1 (high)
    codes = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32)
    return k_quant(blocks, codes)


def decode_q5_k(blocks):
    qh = blocks[:, 16:48]  # [n, 32]: bit j of byte l is the fifth bit of sub-block j, weight l
    qs = blocks[:, 48:176].reshape(-1, 4, 32)
    low = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32)
    fifth = np.stack([(qh >> j) & 1 for j in range(8)], axis=1)  # [n, 8, 32]
    return k_quant(blocks, low | (fifth << 4))


def decode_q6_k(blocks):
    ql = blocks[:, 0:128].reshape(-1, 2, 64)
    qh = blocks[:, 128:192].reshape(-1, 2, 32)
    sc = blocks[:, 192:208].view(np.int8).astype(np.float32).reshape(-1, 2, 8)
    d = f16(blocks, 208)[:, :, None]  # [n, 1, 1]
    quarters = [
        (ql[:, :, :32] & 0x0F) | (((qh >> 0) & 3) << 4),
        (ql[:, :, 32:] & 0x0F) | (((qh >> 2) & 3) << 4),
        (ql[:, :, :32] >> 4) | (((qh >> 4) & 3) << 4),
        (ql[:, :, 32:] >> 4) | (((qh >> 6) & 3) << 4),
    ]
    q = np.stack(quarters, axis=2).astype(np.int32) - 32  # [n, half, quarter, 32]
    # Scale index within a half: 2 * quarter + (l >= 16).
    s = sc.reshape(-1, 2, 4, 2)  # [n, half, quarter, which 16]
    scale = (d[:, :, :, None] * s).astype(np.float32)  # d * sc, float32
    per_weight = np.repeat(scale, 16, axis=3)  # [n, half, quarter, 32]
    return (per_weight * q.astype(np.float32)).reshape(-1)


DECODERS = {F32: decode_f32, Q8_0: decode_q8_0, Q4_K: decode_q4_k, Q5_K: decode_q5_k,
            Q6_K: decode_q6_k}


# --- GGUF names and config to the reference's -------------------------------------------------


class Config:
    def __init__(self, meta):
        self.d_model = meta["dbrx.embedding_length"]
        self.n_heads = meta["dbrx.attention.head_count"]
        self.n_layers = meta["dbrx.block_count"]
        self.kv_heads = meta["dbrx.attention.head_count_kv"]
        clip = meta["dbrx.attention.clamp_kqv"]
        self.clip_qkv = clip if clip > 0 else None
        self.rope_theta = meta["dbrx.rope.freq_base"]
        self.ffn = meta["dbrx.feed_forward_length"]
        self.experts = meta["dbrx.expert_count"]
        self.top_k = meta["dbrx.expert_used_count"]
        self.normalize_p = 1.0  # llama.cpp's DBRX
        self.head_dim = self.d_model // self.n_heads


def hf_weights(tensors, cfg):
    w = {
        "transformer.wte.weight": tensors["token_embd.weight"],
        "transformer.norm_f.weight": tensors["output_norm.weight"],
        "lm_head.weight": tensors["output.weight"],
    }
    for layer in range(cfg.n_layers):
        g, p = f"blk.{layer}.", f"transformer.blocks.{layer}."
        w[p + "norm_attn_norm.norm_1.weight"] = tensors[g + "attn_norm.weight"]
        w[p + "norm_attn_norm.attn.Wqkv.weight"] = tensors[g + "attn_qkv.weight"]
        w[p + "norm_attn_norm.attn.out_proj.weight"] = tensors[g + "attn_output.weight"]
        w[p + "norm_attn_norm.norm_2.weight"] = tensors[g + "attn_output_norm.weight"]
        w[p + "ffn.router.layer.weight"] = tensors[g + "ffn_gate_inp.weight"]
        w[p + "ffn.experts.mlp.w1"] = tensors[g + "ffn_gate_exps.weight"]
        w[p + "ffn.experts.mlp.v1"] = tensors[g + "ffn_up_exps.weight"]
        # GGUF's down projection is [experts, d_model, ffn]; HF's w2 [experts, ffn, d_model].
        w[p + "ffn.experts.mlp.w2"] = tensors[g + "ffn_down_exps.weight"].transpose(0, 2, 1)
    return {k: v.astype(np.float64) for k, v in w.items()}


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    meta, tensors, sha = read_gguf(Path(argv[1]))
    cfg = Config(meta)
    w = hf_weights(tensors, cfg)
    ids = json.loads(Path(argv[2]).read_text())["ids"]
    logits = ref.final_hidden(ids, w, cfg) @ w["lm_head.weight"].T
    top = np.argsort(-logits, axis=1, kind="stable")[:, :TOP]
    top_logits = np.take_along_axis(logits, top, axis=1)
    out = {
        "gguf_sha256": sha,
        "ids": ids,
        "top_ids": top.tolist(),
        "top_logits": [[round(float(v), 8) for v in row] for row in top_logits],
    }
    Path(argv[3]).write_text(json.dumps(out) + "\n")
    gap = np.min(top_logits[:, 0] - top_logits[:, 1])
    print(f"wrote {argv[3]}: {len(ids)} positions, smallest top-1/top-2 gap {gap:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
