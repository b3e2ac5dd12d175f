"""Timing shared by the PyTorch twins (torch_head.py, torch_train.py): warm-up steps, then timed steps,
and one JSON line last that bench/torch.ts reads (median_ms, min_ms, threads, torch version, runs)."""

import json
import statistics
import time

import torch


def report_step_timing(step, warmup, repeats, threads):
    for _ in range(warmup):
        step()
    times = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    # CPU time of the whole process per step (every thread, spin-waits included): on one thread, the
    # step's time on an idle core even when other processes share the machine.
    cpu_ms = (time.process_time() - cpu0) * 1e3 / repeats
    print(
        json.dumps(
            {
                "median_ms": statistics.median(times),
                "min_ms": min(times),
                "cpu_ms": cpu_ms,
                "threads": threads,
                "torch": torch.__version__,
                "runs": len(times),
            }
        )
    )
