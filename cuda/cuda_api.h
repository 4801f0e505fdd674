// Public, host-side controls of the CUDA backend. Include only when DCODR_WITH_CUDA is
// defined (the header itself needs no CUDA headers, so plain g++ translation units can use it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcodr::cuda {

// Number of usable CUDA devices; 0 (never an exception) when there is no driver or no GPU.
int device_count();
// "NVIDIA H200 (sm_90, 139.8 GiB)"; throws dcodr::Error for an unusable index.
std::string device_description(int index = 0);

// The caching allocator's counters for device `index` (opens the device if needed).
struct MemoryStats {
    std::size_t allocated = 0;       // bytes held by live tensors (rounded to the size class)
    std::size_t peak_allocated = 0;  // high-water mark of `allocated`
    std::size_t reserved = 0;        // bytes obtained from cudaMalloc (allocated + cached)
    std::size_t peak_reserved = 0;
    std::size_t requested = 0;       // bytes asked for by live tensors (before rounding)
    std::uint64_t num_allocs = 0;       // allocate() calls
    std::uint64_t num_cache_hits = 0;   // served from the cache, no cudaMalloc
    std::uint64_t num_cuda_mallocs = 0;
    std::uint64_t num_oom_retries = 0;  // out-of-memory, cache freed, retried
};
MemoryStats memory_stats(int index = 0);
void reset_peak_memory_stats(int index = 0);
// Returns every cached (unused) block to the driver.
void empty_cache(int index = 0);
// One-line human summary: "allocated 1.2 GiB (peak 3.4 GiB), reserved 4.0 GiB".
std::string memory_summary(int index = 0);

// TF32 tensor cores for float32 matmul (cuBLAS) and convolution (cuDNN). Off by default, so
// results match the CPU to float32 rounding; turn on for speed (PyTorch's allow_tf32).
void set_allow_tf32(bool on);
bool allow_tf32();
// Deterministic mode (on by default): cuDNN algorithms are restricted to deterministic ones.
// Own kernels never use atomics in reductions, so they are deterministic either way.
void set_deterministic(bool on);
bool deterministic();

// cuDNN benchmark mode (off by default): the first call of each convolution configuration
// times the candidate algorithms (cudnnFind*AlgorithmEx) instead of trusting cuDNN's
// heuristics. Faster steps for fixed shapes; the choice may differ between runs (timing), so
// bitwise reproducibility across processes is only guaranteed with it off.
void set_cudnn_benchmark(bool on);
bool cudnn_benchmark();

// Waits for all queued work on device `index`.
void synchronize(int index = 0);

}  // namespace dcodr::cuda
