// Forward values of the elementwise kernels against hand computations, incl. broadcasting.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/functional.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

using namespace dcodr;

static Tensor vec(std::vector<double> v, Shape s = {}, DType dt = DType::f64) {
    if (s.empty()) s = {static_cast<std::int64_t>(v.size())};
    return Tensor::from_vector(v, s, dt);
}

TEST_CASE("unary ops compute the textbook functions") {
    Tensor x = vec({-2, -0.5, 0, 0.5, 2});
    auto near = [](const Tensor& t, std::vector<double> want) {
        auto got = t.to_vector();
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(want[i]).margin(1e-15));
    };
    near(neg(x), {2, 0.5, 0, -0.5, -2});
    near(abs(x), {2, 0.5, 0, 0.5, 2});
    near(relu(x), {0, 0, 0, 0.5, 2});
    near(leaky_relu(x, 0.1), {-0.2, -0.05, 0, 0.5, 2});
    near(square(x), {4, 0.25, 0, 0.25, 4});
    near(exp(x), {std::exp(-2.0), std::exp(-0.5), 1, std::exp(0.5), std::exp(2.0)});
    near(tanh(x), {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(0.5), std::tanh(2.0)});
    near(sigmoid(x), {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5, 1 / (1 + std::exp(-0.5)),
                      1 / (1 + std::exp(-2.0))});
    Tensor p = vec({0.25, 1, 4});
    near(sqrt(p), {0.5, 1, 2});
    near(rsqrt(p), {2, 1, 0.5});
    near(log(p), {std::log(0.25), 0, std::log(4.0)});
    near(pow(p, 1.5), {0.125, 1, 8});
    near(add_scalar(p, 1), {1.25, 2, 5});
    near(mul_scalar(p, -2), {-0.5, -2, -8});
}

TEST_CASE("binary ops broadcast NumPy-style") {
    Tensor a = vec({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor row = vec({10, 20, 30}, {3});
    Tensor col = vec({100, 200}, {2, 1});
    REQUIRE(add(a, row).to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
    REQUIRE(sub(a, col).to_vector() == std::vector<double>{-99, -98, -97, -196, -195, -194});
    REQUIRE(mul(col, row).shape() == Shape{2, 3});
    REQUIRE(mul(col, row).to_vector() == std::vector<double>{1000, 2000, 3000, 2000, 4000, 6000});
    REQUIRE(div(a, vec({2}, {1})).to_vector() == std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3});
    REQUIRE(maximum(a, vec({3.5}, {1})).to_vector() == std::vector<double>{3.5, 3.5, 3.5, 4, 5, 6});
    REQUIRE(minimum(a, vec({3.5}, {1})).to_vector() == std::vector<double>{1, 2, 3, 3.5, 3.5, 3.5});
    // Broadcasting a non-contiguous operand.
    Tensor t = a.transpose(0, 1);  // [3, 2]
    REQUIRE(add(t, vec({0, 100}, {2})).to_vector() == std::vector<double>{1, 104, 2, 105, 3, 106});
}

TEST_CASE("comparisons give 0/1 and where / masked_fill select") {
    Tensor a = vec({1, 2, 3}), b = vec({2, 2, 2});
    REQUIRE(compare(BinaryOp::lt, a, b).to_vector() == std::vector<double>{1, 0, 0});
    REQUIRE(compare(BinaryOp::le, a, b).to_vector() == std::vector<double>{1, 1, 0});
    REQUIRE(compare(BinaryOp::eq, a, b).to_vector() == std::vector<double>{0, 1, 0});
    REQUIRE(compare(BinaryOp::ne, a, b).to_vector() == std::vector<double>{1, 0, 1});
    REQUIRE(compare(BinaryOp::gt, a, b).to_vector() == std::vector<double>{0, 0, 1});
    REQUIRE(compare(BinaryOp::ge, a, b).to_vector() == std::vector<double>{0, 1, 1});
    Tensor m = compare(BinaryOp::gt, a, b);
    REQUIRE(where(m, a, b).to_vector() == std::vector<double>{2, 2, 3});
    REQUIRE(masked_fill(a, m, -1).to_vector() == std::vector<double>{1, 2, -1});
}

TEST_CASE("large elementwise work runs in parallel and matches the serial result") {
    Tensor x = Tensor::uniform({300000}, -1, 1, 3, 0, DType::f64);
    Tensor y = exp(x);
    auto xv = x.to_vector(), yv = y.to_vector();
    for (std::size_t i = 0; i < xv.size(); i += 997) REQUIRE(yv[i] == std::exp(xv[i]));
}
