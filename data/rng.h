// A small sequential stream over Philox (tensor/philox.h) for the CPU-side data pipeline.
//
// Every random decision in data/ (shuffles, augmentation parameters, sampled factors) is a
// function of (seed, stream id, draw number) only, so results do not depend on thread layout
// and a run can be replayed from a saved cursor.
#pragma once
#include <cstdint>

#include "tensor/philox.h"

namespace dcodr::data {

// SplitMix64 finaliser: turns structured ids (seed, epoch, step, ...) into well-mixed keys.
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

inline std::uint64_t mix64(std::uint64_t a, std::uint64_t b) { return mix64(mix64(a) ^ b); }

class RandomStream {
public:
    // `key` selects the stream (mix the seed with whatever identifies the use).
    explicit RandomStream(std::uint64_t key) : key_(key) {}

    std::uint64_t next_u64() {
        philox::U32x4 r = philox::block(counter_++, key_);
        return (static_cast<std::uint64_t>(r.v[0]) << 32) | r.v[1];
    }
    // Uniform in [0, 1) with 53 random bits.
    double unit() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
    double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
    // Uniform integer in [0, n), n > 0 (multiply-high; bias below 2^-64 * n).
    std::int64_t below(std::int64_t n) {
        unsigned __int128 p = static_cast<unsigned __int128>(next_u64()) * static_cast<std::uint64_t>(n);
        return static_cast<std::int64_t>(p >> 64);
    }
    // Uniform integer in [lo, hi] (inclusive).
    std::int64_t between(std::int64_t lo, std::int64_t hi) { return lo + below(hi - lo + 1); }

    // Fisher-Yates shuffle of a random-access range.
    template <class Vec>
    void shuffle(Vec& v) {
        for (std::int64_t i = static_cast<std::int64_t>(v.size()) - 1; i > 0; --i) {
            std::int64_t j = below(i + 1);
            std::swap(v[i], v[j]);
        }
    }

private:
    std::uint64_t key_;
    std::uint64_t counter_ = 0;
};

}  // namespace dcodr::data
