#!/usr/bin/env python3
"""The anchor of scripts/device-check: Hugging Face transformers' DbrxForCausalLM (eager attention,
BF16, CUDA) on the same safetensors folder and the same shapes as `bin/dbrx bench`, offline.

Shapes, as ModelBenchmark measures them:
  prefill: one prompt of --prompt-length random ids, through the last position's logits;
  decode at batch B: B prompts of 16 ids prefilled (not timed), then --decode-steps steps of one
  token per sequence with the KV cache, every sequence's logits each step.
Each figure is the best of --repeats after one untimed warm-up; --output gets JSON.
"""
import argparse
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="checkpoint folder (config.json + safetensors)")
    parser.add_argument("--batches", default="1,8,32,128")
    parser.add_argument("--prompt-length", type=int, default=512)
    parser.add_argument("--decode-prompt", type=int, default=16)
    parser.add_argument("--decode-steps", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    report = {"model": args.model, "anchor": "transformers DbrxForCausalLM, eager, bfloat16"}
    try:
        run(args, report)
    except Exception as e:  # the report says what failed, and the exit status says that it did
        report["error"] = f"{type(e).__name__}: {e}"
        write(args.output, report)
        raise
    write(args.output, report)
    print(json.dumps(report, indent=1))


def run(args, report):
    import torch
    import transformers
    from transformers import DbrxForCausalLM

    report["versions"] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "transformers": transformers.__version__,
    }
    if not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device")
    device = torch.device("cuda:0")
    report["gpu"] = torch.cuda.get_device_name(device)

    start = time.perf_counter()
    common = dict(attn_implementation="eager", local_files_only=True)
    try:
        model = DbrxForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16, **common)
    except TypeError:  # transformers before the rename of torch_dtype
        model = DbrxForCausalLM.from_pretrained(args.model, torch_dtype=torch.bfloat16, **common)
    model.to(device).eval()
    torch.cuda.synchronize()
    report["load_seconds"] = time.perf_counter() - start
    report["parameters"] = sum(p.numel() for p in model.parameters())
    vocab = min(100_000, model.config.vocab_size)
    generator = torch.Generator(device="cpu").manual_seed(0)

    def ids(batch, length):
        return torch.randint(0, vocab, (batch, length), generator=generator).to(device)

    def forward(input_ids, past=None, last_only=False):
        kwargs = dict(input_ids=input_ids, past_key_values=past, use_cache=True)
        if last_only:
            kwargs["logits_to_keep"] = 1
        try:
            return model(**kwargs)
        except TypeError:  # a model without logits_to_keep computes every position's logits
            kwargs.pop("logits_to_keep", None)
            return model(**kwargs)

    @torch.inference_mode()
    def prefill():
        prompt = ids(1, args.prompt_length)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        forward(prompt, last_only=True).logits.float()
        torch.cuda.synchronize()
        return args.prompt_length / (time.perf_counter() - t0)

    @torch.inference_mode()
    def decode(batch):
        out = forward(ids(batch, args.decode_prompt), last_only=True)
        past = out.past_key_values
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.decode_steps):
            out = forward(ids(batch, 1), past)
            out.logits.float()
            past = out.past_key_values
        torch.cuda.synchronize()
        return batch * args.decode_steps / (time.perf_counter() - t0)

    decode(1)  # warm-up: cuBLAS handles, kernels' first launches
    torch.cuda.reset_peak_memory_stats(device)
    report["decode_tokens_per_s"] = {}
    report["errors"] = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        try:
            report["decode_tokens_per_s"][str(batch)] = max(decode(batch) for _ in range(args.repeats))
        except torch.cuda.OutOfMemoryError as e:
            report["errors"]["decode_" + str(batch)] = f"out of memory: {e}"
            torch.cuda.empty_cache()
        print(f"decode batch {batch}: {report['decode_tokens_per_s'].get(str(batch))}", file=sys.stderr)
    report["prefill_tokens_per_s"] = max(prefill() for _ in range(args.repeats))
    report["prefill_prompt_tokens"] = args.prompt_length
    report["peak_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(device)


def write(path, report):
    with open(path, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
