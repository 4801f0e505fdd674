#include "tensor/cpu/host_cache.h"

#include <bit>
#include <cstdlib>

#include "tensor/error.h"

namespace dcodr {

std::size_t HostCache::size_class(std::size_t n) {
    if (n <= 4096) return (n + 63) / 64 * 64;
    std::size_t top = std::bit_floor(n);  // power of two <= n
    std::size_t step = top / 8;
    return (n + step - 1) / step * step;
}

void* HostCache::allocate(std::size_t nbytes) {
    std::size_t c = size_class(nbytes);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = free_.find(c);
        if (it != free_.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            cached_ -= c;
            note_allocated(c);
            return p;
        }
    }
    // 64-byte alignment: full cache lines and aligned AVX loads for Eigen.
    void* p = std::aligned_alloc(64, c);
    if (!p) {
        trim();  // give the cache back and try once more
        p = std::aligned_alloc(64, c);
    }
    DCODR_CHECK(p != nullptr, "out of host memory allocating {} bytes", nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    note_allocated(c);
    return p;
}

void HostCache::release(void* ptr, std::size_t nbytes) {
    std::size_t c = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    live_ -= c;
    if (cached_ + c > max_cached_) {  // over budget: this block goes straight back
        std::free(ptr);
        return;
    }
    free_[c].push_back(ptr);
    cached_ += c;
}

void HostCache::trim() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [c, blocks] : free_)
        for (void* p : blocks) std::free(p);
    free_.clear();
    cached_ = 0;
}

std::size_t HostCache::cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
}

void HostCache::note_allocated(std::size_t c) {  // caller holds mutex_
    live_ += c;
    if (live_ > peak_live_) peak_live_ = live_;
}

std::size_t HostCache::live_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_;
}

std::size_t HostCache::peak_live_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_live_;
}

void HostCache::reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_live_ = live_;
}

HostCache::~HostCache() { trim(); }

}  // namespace dcodr
