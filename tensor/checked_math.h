// Size arithmetic on values that come from files or the command line: a product or sum that
// does not fit in int64 is an error naming what was being computed, never a silent wrap
// (a wrapped element count once let an `imgs` of shape (200, 2^32, 2^32) with no data pass).
#pragma once
#include <cstdint>

#include "tensor/error.h"

namespace dcodr {

inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) fail("{}: {} x {} does not fit in 64 bits", what, a, b);
    return r;
}

inline std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) fail("{}: {} + {} does not fit in 64 bits", what, a, b);
    return r;
}

}  // namespace dcodr
