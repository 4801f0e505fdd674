// Helpers shared by the test executables.
#pragma once
#include <string>
#include <vector>

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

// Central differences of L(t) = sum(f() * r) for every element of the contiguous float64
// tensor t, perturbed in place: the reference for checking backward kernels directly.
template <class F>
Tensor numeric_grad(Tensor t, const Tensor& r, F f, double h = 1e-6) {
    auto v = t.to_vector(), rv = r.to_vector();
    std::vector<double> g(v.size());
    auto loss = [&] {
        auto yv = f().to_vector();
        double s = 0;
        for (std::size_t i = 0; i < yv.size(); ++i) s += yv[i] * rv[i];
        return s;
    };
    double* p = t.template data<double>();
    for (std::size_t i = 0; i < v.size(); ++i) {
        p[i] = v[i] + h;
        double up = loss();
        p[i] = v[i] - h;
        double down = loss();
        p[i] = v[i];
        g[i] = (up - down) / (2 * h);
    }
    return Tensor::from_vector(g, t.shape(), DType::f64);
}

// A fresh temporary directory, removed by the OS eventually (tests clean what they can).
std::string temp_dir(const std::string& tag);

}  // namespace dcodr::testing

#define REQUIRE_CLOSE(a, b, atol, rtol)                                   \
    do {                                                                  \
        std::string msg_ = ::dcodr::testing::compare((a), (b), (atol), (rtol)); \
        INFO(msg_);                                                       \
        REQUIRE(msg_.empty());                                            \
    } while (0)
