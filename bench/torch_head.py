"""PyTorch CPU reference timing for `npm run bench -- head --torch` (optional; never a dependency).

One ArcFace training step as the common PyTorch implementations write it: normalise X and W, cos = X̂ Ŵᵀ,
cos(θy + m) on the target with the easy-margin-free fallback, scale, cross-entropy, backward into X and W,
then SGD with momentum on W. Run with the interpreter that has torch (Debian: apt-get install python3-torch).

    python3 bench/torch_head.py --batch 256 --dim 512 --classes 8192 --threads 1 --repeats 10

The last line printed is JSON: median_ms, min_ms, threads, torch version.
"""

import argparse
import math

import torch
import torch.nn.functional as F
from torch_timing import report_step_timing


def arcface_logits(x, w, labels, s=64.0, m=0.5):
    cos = F.linear(F.normalize(x), F.normalize(w)).clamp(-1.0, 1.0)
    cos_y = cos.gather(1, labels.view(-1, 1))
    sin_y = torch.sqrt((1.0 - cos_y * cos_y).clamp(min=0.0))
    phi = cos_y * math.cos(m) - sin_y * math.sin(m)
    # Beyond θ = π − m the margin is replaced by the linear penalty (insightface's "th / mm" fallback).
    phi = torch.where(cos_y > math.cos(math.pi - m), phi, cos_y - math.sin(math.pi - m) * m)
    return s * cos.scatter(1, labels.view(-1, 1), phi)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--classes", type=int, default=8192)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.batch, a.dim, requires_grad=True)
    w = torch.nn.Parameter(0.05 * torch.randn(a.classes, a.dim))
    labels = torch.arange(a.batch) * 7919 % a.classes
    opt = torch.optim.SGD([w], lr=a.lr, momentum=a.momentum)

    def step():
        opt.zero_grad(set_to_none=False)
        if x.grad is not None:
            x.grad = None
        loss = F.cross_entropy(arcface_logits(x, w, labels), labels)
        loss.backward()
        opt.step()

    report_step_timing(step, 1 if a.classes * a.dim > 64e6 else 2, a.repeats, a.threads)

if __name__ == "__main__":
    main()
