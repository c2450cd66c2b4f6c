#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench`: the same GPT-2 shape, trained the same way, on the same device.

HF GPT-2 layout as the harness's trainer (pre-LayerNorm blocks, learned positions, tanh GELU,
tied LM head, dropout, attention scaled by the inverse layer index), AdamW with weight decay
0.1 on the matrices, gradient clipping at norm 1.0, pseudo-random tokens. Prints one JSON
object: tokens/s of the best repeat, its step time, the device, dtype and thread count.

    python3 scripts/bench-peer.py [--n-embd 256 --n-layer 4 --n-head 4 --context 128 --batch 8
        --vocab 4096] [--threads T] [--device cpu|cuda] [--dtype fp32|fp16] [--steps N] [--repeats R]

CUDA: fp32 runs with TF32 off (both matmul and cuDNN), fp16 runs under autocast with a
GradScaler, as the harness's fp16 keeps fp32 master weights with dynamic loss scaling.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, n_head, layer_idx, dropout):
        super().__init__()
        self.n_head = n_head
        self.scale = 1.0 / (math.sqrt(c // n_head) * (layer_idx + 1))  # scale_attn_by_inverse_layer_idx
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.fc1 = nn.Linear(c, 4 * c)
        self.fc2 = nn.Linear(4 * c, c)
        self.drop = nn.Dropout(dropout)
        self.p = dropout

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        sdpa = getattr(F, 'scaled_dot_product_attention', None)
        if sdpa is not None:  # torch >= 2.0: fused kernels; the layer-index factor folds into q
            y = sdpa(q * (self.scale * math.sqrt(c // self.n_head)), k, v,
                     dropout_p=self.p if self.training else 0.0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * self.scale
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            att = self.drop(att.masked_fill(mask, float('-inf')).softmax(dim=-1))
            y = att @ v
        return self.drop(self.c_proj(y.transpose(1, 2).reshape(b, t, c)))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln_2(x)), approximate='tanh')))


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.wte = nn.Embedding(a.vocab, a.n_embd)
        self.wpe = nn.Embedding(a.context, a.n_embd)
        self.drop = nn.Dropout(a.dropout)
        self.h = nn.ModuleList(Block(a.n_embd, a.n_head, i, a.dropout) for i in range(a.n_layer))
        self.ln_f = nn.LayerNorm(a.n_embd)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * a.n_layer) if name.endswith(('c_proj.weight', 'fc2.weight')) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith('.bias'):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(t, device=idx.device)))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied LM head
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n-embd', type=int, default=256)
    p.add_argument('--n-layer', type=int, default=4)
    p.add_argument('--n-head', type=int, default=4)
    p.add_argument('--context', type=int, default=128)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--vocab', type=int, default=4096)
    p.add_argument('--dropout', type=float, default=0.1)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (CPU); default: torch\'s own')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--dtype', choices=['fp32', 'fp16'], default='fp32')
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--repeats', type=int, default=3)
    a = p.parse_args(argv)
    if a.n_embd % a.n_head != 0:
        p.error(f'--n-embd {a.n_embd} must be divisible by --n-head {a.n_head}')
    if a.device == 'cuda' and not torch.cuda.is_available():
        p.error('--device cuda: torch sees no CUDA device; use --device cpu')
    if a.dtype == 'fp16' and a.device != 'cuda':
        p.error('--dtype fp16 needs --device cuda (the harness only emulates fp16 on the CPU: compare that with --dtype fp32)')
    return a


def make_step(a, model, opt, device):
    """One optimizer step on fresh random tokens; returns a function that runs it."""
    fp16 = a.dtype == 'fp16'
    scaler = torch.cuda.amp.GradScaler(init_scale=2.0 ** 16) if fp16 and device.type == 'cuda' else None
    gen = torch.Generator(device='cpu').manual_seed(7)

    def step():
        ids = torch.randint(0, a.vocab, (a.batch, a.context + 1), generator=gen).to(device)
        if fp16:
            with torch.autocast(device_type='cuda', dtype=torch.float16):
                loss = model(ids[:, :-1], ids[:, 1:])
        else:
            loss = model(ids[:, :-1], ids[:, 1:])
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        return loss
    return step


def main(argv):
    a = parse_args(argv)
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == 'cuda':  # the fp32 comparison is true fp32: no TF32 anywhere
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(1113)
    model = GPT(a).to(device).train()
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    step = make_step(a, model, opt, device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    step().item()  # warm-up
    best = math.inf
    for _ in range(a.repeats):
        sync()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            loss = step()
        loss.item()
        sync()
        best = min(best, (time.perf_counter() - t0) / a.steps)
    tokens = a.batch * a.context
    print(json.dumps({
        'peer': 'pytorch', 'torch': torch.__version__, 'device': a.device, 'dtype': a.dtype,
        'threads': torch.get_num_threads(), 'params': sum(p.numel() for p in model.parameters()),
        'stepMs': best * 1000, 'tokensPerS': tokens / best,
        'shape': {'nEmbd': a.n_embd, 'nLayer': a.n_layer, 'nHead': a.n_head, 'context': a.context, 'batch': a.batch, 'vocab': a.vocab},
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
