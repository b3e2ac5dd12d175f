"""PyTorch CPU reference for `npm run bench -- gemm --torch` (optional; never a dependency).

Times one of the three products of a face-head step with PyTorch's own matrix product (its BLAS: OpenBLAS
on Debian's python3-torch), on operands laid out as a PyTorch head holds them: X (B×D), W (C×D), G (B×C).

    python3 bench/torch_gemm.py --case NT --batch 256 --dim 512 --classes 8192 --threads 1 --repeats 20

The last line printed is JSON: median_ms, min_ms, cpu_ms, threads, torch version.
"""

import argparse

import torch
from torch_timing import report_step_timing


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", choices=["NT", "NN", "TN"], required=True)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--classes", type=int, default=8192)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.batch, a.dim)
    w = torch.randn(a.classes, a.dim)
    g = torch.randn(a.batch, a.classes)
    out = {
        "NT": torch.empty(a.batch, a.classes),
        "NN": torch.empty(a.batch, a.dim),
        "TN": torch.empty(a.classes, a.dim),
    }[a.case]
    # The same products a head's forward and backward run: cos = X·Wᵀ, dX = G·W, dW = Gᵀ·X, written into
    # a preallocated output as an optimised training loop would.
    product = {
        "NT": lambda: torch.mm(x, w.t(), out=out),
        "NN": lambda: torch.mm(g, w, out=out),
        "TN": lambda: torch.mm(g.t(), x, out=out),
    }[a.case]
    report_step_timing(product, 2, a.repeats, a.threads)


if __name__ == "__main__":
    main()
