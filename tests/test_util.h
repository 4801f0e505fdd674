// Helpers shared by the test executables.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace dcodr::testing {

// Path of a committed fixture file (tests/fixtures, or $DCODR_FIXTURES).
std::string fixture_path(const std::string& name);

// |a - b| <= atol + rtol * |b| elementwise; on failure the message names the worst element.
// Returns an empty string when close, else a description (use with REQUIRE(msg.empty())).
std::string compare(const Tensor& a, const Tensor& b, double atol, double rtol);

// Deterministic random tensor in [lo, hi) (float64 by default, for gradient checks).
Tensor random_tensor(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0,
                     DType dtype = DType::f64);

// A fresh temporary directory, removed by the OS eventually (tests clean what they can).
std::string temp_dir(const std::string& tag);

}  // namespace dcodr::testing

#define REQUIRE_CLOSE(a, b, atol, rtol)                                   \
    do {                                                                  \
        std::string msg_ = ::dcodr::testing::compare((a), (b), (atol), (rtol)); \
        INFO(msg_);                                                       \
        REQUIRE(msg_.empty());                                            \
    } while (0)
