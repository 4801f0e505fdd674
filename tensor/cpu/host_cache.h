// A caching host allocator. Training allocates the same activation sizes every step; glibc
// serves large blocks with fresh mmap()s whose pages then fault in one by one (measured ~2 ms
// per MB here, ~12% of a CPU training step). Keeping freed blocks for reuse avoids that.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace dcodr {

class HostCache {
public:
    explicit HostCache(std::size_t max_cached_bytes) : max_cached_(max_cached_bytes) {}
    ~HostCache();
    void* allocate(std::size_t nbytes);
    void release(void* ptr, std::size_t nbytes);
    // Returns every cached block to the system.
    void trim();
    std::size_t cached_bytes() const;
    // Bytes handed out and not yet released (size-class rounded), and their high-water mark
    // since construction or the last reset_peak(): what `dcodr bench step` reports as the
    // step's peak memory on the CPU (the GPU's allocator keeps the same two numbers).
    std::size_t live_bytes() const;
    std::size_t peak_live_bytes() const;
    void reset_peak();

    // Sizes are rounded up to a size class (64-byte multiples below 4 KiB, else one of 8 steps
    // per power of two) so that nearby sizes share blocks; waste is at most 12.5%.
    static std::size_t size_class(std::size_t nbytes);

private:
    void note_allocated(std::size_t size_class_bytes);

    mutable std::mutex mutex_;
    std::map<std::size_t, std::vector<void*>> free_;  // size class -> blocks
    std::size_t cached_ = 0, max_cached_;
    std::size_t live_ = 0, peak_live_ = 0;
};

}  // namespace dcodr
