// Caching device allocator.
//
// Requests are rounded to a size class: powers of two from 512 B up to 1 MiB, then multiples
// of 2 MiB. A freed block goes to a free list keyed by its size; a later request takes a
// cached block of exactly its class (small classes) or the smallest cached block at most 25%
// larger (large ones), so big blocks are not wasted on small tensors. Blocks are never split. When
// cudaMalloc reports out-of-memory, every cached block is returned to the driver and the
// allocation is retried once; if it still fails the error says how much was asked for and
// how much this process holds.
//
// Reuse is safe without events because the backend queues all work on one stream: a block
// freed by the host is only reused by work queued after everything that used it.
#include <fmt/format.h>

#include "cuda/cuda_backend.h"

namespace dcodr::cuda {

namespace {
std::string mib(std::size_t b) { return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0)); }
}  // namespace

std::size_t CachingAllocator::round_size(std::size_t n) {
    constexpr std::size_t kMin = 512, kSmall = 1 << 20, kLargeStep = 2 << 20;
    if (n <= kMin) return kMin;
    if (n <= kSmall) {
        std::size_t r = kMin;
        while (r < n) r <<= 1;
        return r;
    }
    return (n + kLargeStep - 1) / kLargeStep * kLargeStep;
}

void* CachingAllocator::allocate(std::size_t nbytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t size = round_size(nbytes);
    ++stats_.num_allocs;
    void* p = nullptr;
    auto it = free_blocks_.lower_bound(size);
    // Small classes (powers of two <= 1 MiB) reuse only their own class; large blocks may be
    // up to 25% bigger than asked, so a large cached block is not tied up by a small tensor.
    bool fits = it != free_blocks_.end() &&
                (size <= (std::size_t(1) << 20) ? it->first == size : it->first <= size + size / 4);
    if (fits) {
        size = it->first;
        p = it->second;
        free_blocks_.erase(it);
        ++stats_.num_cache_hits;
    } else {
        cudaError_t e = cudaMalloc(&p, size);
        if (e == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();  // clear the sticky-free error state
            ++stats_.num_oom_retries;
            release_cached_locked();
            e = cudaMalloc(&p, size);
        }
        if (e != cudaSuccess && e != cudaErrorMemoryAllocation) {
            // Not out of memory (e.g. a sticky error left by an earlier faulting kernel): say so
            // rather than report it as an OOM.
            (void)cudaGetLastError();
            throw Error(fmt::format("CUDA error on cuda:{}: cudaMalloc of {} bytes returned {} ({}); an earlier "
                                    "kernel may have failed (rerun with CUDA_LAUNCH_BLOCKING=1)",
                                    device_, size, cudaGetErrorString(e), static_cast<int>(e)));
        }
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            std::size_t free_b = 0, total_b = 0;
            (void)cudaMemGetInfo(&free_b, &total_b);
            throw Error(fmt::format(
                "CUDA out of memory on cuda:{}: asked for {} ({} bytes, size class {}); this process holds {} in "
                "live tensors (peak {}) and {} reserved in all; the device has {} free of {} ({}). Reduce the "
                "batch size or image size.",
                device_, mib(nbytes), nbytes, mib(size), mib(stats_.allocated), mib(stats_.peak_allocated),
                mib(stats_.reserved), mib(free_b), mib(total_b), cudaGetErrorString(e)));
        }
        ++stats_.num_cuda_mallocs;
        stats_.reserved += size;
        stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
    }
    live_[p] = {size, nbytes};
    stats_.allocated += size;
    stats_.requested += nbytes;
    stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
    return p;
}

void CachingAllocator::deallocate(void* ptr) {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;  // not ours: ignore rather than corrupt the cache
    stats_.allocated -= it->second.first;
    stats_.requested -= it->second.second;
    free_blocks_.emplace(it->second.first, ptr);
    live_.erase(it);
}

void CachingAllocator::release_cached_locked() {
    if (free_blocks_.empty()) return;
    // cudaFree synchronises the device, so queued work that used these blocks has finished.
    for (auto& [size, p] : free_blocks_) {
        (void)cudaFree(p);
        stats_.reserved -= size;
    }
    free_blocks_.clear();
}

void CachingAllocator::empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
}

MemoryStats CachingAllocator::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_allocated = stats_.allocated;
    stats_.peak_reserved = stats_.reserved;
}

}  // namespace dcodr::cuda
