// Reductions over any axes, with keepdim, against hand computations.
#include <catch2/catch.hpp>

#include "autograd/functional.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("sum and mean over any axes") {
    Tensor x = Tensor::arange(24, DType::f64).view({2, 3, 4});
    REQUIRE(sum(x).item() == 276);
    REQUIRE(sum(x, {0}).to_vector()[0] == 12);       // 0 + 12
    REQUIRE(sum(x, {2}).to_vector() == std::vector<double>{6, 22, 38, 54, 70, 86});
    REQUIRE(sum(x, {0, 2}).to_vector() == std::vector<double>{60, 92, 124});
    REQUIRE(sum(x, {-1}, true).shape() == Shape{2, 3, 1});
    REQUIRE(mean(x, {1}).to_vector()[0] == 4);        // (0 + 4 + 8) / 3
    REQUIRE(mean(x, {0, 1, 2}).item() == 11.5);
}

TEST_CASE("max returns values and first-occurrence argmax") {
    Tensor x = Tensor::from_vector(std::vector<double>{1, 5, 5, 2, 9, 0}, {2, 3}, DType::f64);
    auto [v, i] = max(x, 1);
    REQUIRE(v.to_vector() == std::vector<double>{5, 9});
    REQUIRE(i.to_int_vector() == std::vector<std::int64_t>{1, 1});
    auto [v0, i0] = max(x, 0, true);
    REQUIRE(v0.shape() == Shape{1, 3});
    REQUIRE(i0.to_int_vector() == std::vector<std::int64_t>{1, 1, 0});
    REQUIRE(kernels::max_all(x).item() == 9);
}

TEST_CASE("variance, biased and unbiased") {
    Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 10, 20}, {2, 3}, DType::f64);
    REQUIRE(var(x, {1}).to_vector()[0] == Approx(1.0));
    REQUIRE(var(x, {1}, false).to_vector()[0] == Approx(2.0 / 3.0));
    REQUIRE(var(x, {1}).to_vector()[1] == Approx(392.0 / 6.0));  // mean 34/3, squared deviations sum 392/3
}

TEST_CASE("float sums are accurate over long rows") {
    // 1e6 values of 0.1f: a naive float accumulator drifts by ~1%; ours sums in double.
    Tensor x = Tensor::full({1000000}, 0.1, DType::f32);
    REQUIRE(sum(x).item() == Approx(100000.0).epsilon(1e-6));
}
