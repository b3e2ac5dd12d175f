// faceverloss native engine: keeping freed tensor memory in the process for reuse.
#pragma once

namespace fvl {

// A training step allocates and frees the same few megabyte-sized buffers (activations, gradients) over
// and over. With glibc's defaults each such buffer is mapped fresh and returned to the system when it is
// freed, so every step faults in and zeroes its memory again: thousands of page faults per step,
// 10–15 % of a resnet-lite step. This asks glibc to serve those sizes from the heap and keep freed
// memory (up to 1 GiB at its top) for the next step — the tuning PyTorch users give their processes
// with MALLOC_* variables. Applied once when the engine loads; FACEVERLOSS_MALLOC_TUNING=0 leaves the
// allocator as it is, and so does an allocator other than glibc's. Returns whether it was applied.
bool tune_allocator();

}  // namespace fvl
