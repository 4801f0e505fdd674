// Forward values of composite ops against hand computations, and their numerical safety.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/functional.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("softmax and logsumexp are exact and stable for huge logits") {
    Tensor x = Tensor::from_vector(std::vector<double>{1000, 1001, 1002}, {1, 3}, DType::f64);
    double lse = logsumexp(x, 1).item();
    REQUIRE(lse == Approx(1002 + std::log(1 + std::exp(-1.0) + std::exp(-2.0))));
    auto p = softmax(x, 1).to_vector();
    double z = 1 + std::exp(1.0) + std::exp(2.0);
    REQUIRE(p[0] == Approx(1 / z));
    REQUIRE(p[2] == Approx(std::exp(2.0) / z));
}

TEST_CASE("cross entropy matches the hand formula") {
    Tensor logits = Tensor::from_vector(std::vector<double>{2, 1, 0, 0, 0, 3}, {2, 3}, DType::f64);
    Tensor t = Tensor::from_vector(std::vector<std::int64_t>{0, 2}, {2});
    double l0 = -(2 - std::log(std::exp(2.0) + std::exp(1.0) + 1));
    double l1 = -(3 - std::log(2 + std::exp(3.0)));
    REQUIRE(cross_entropy(logits, t).item() == Approx((l0 + l1) / 2));
    REQUIRE_THROWS_WITH(cross_entropy(logits, Tensor::zeros({3}, DType::i64)), Catch::Contains("targets of shape [2]"));
}

TEST_CASE("l2_normalize gives unit rows and keeps zero rows finite") {
    Tensor x = Tensor::from_vector(std::vector<double>{3, 4, 0, 0}, {2, 2}, DType::f64);
    auto v = l2_normalize(x, 1).to_vector();
    REQUIRE(v[0] == Approx(0.6));
    REQUIRE(v[1] == Approx(0.8));
    REQUIRE(v[2] == 0.0);
}

TEST_CASE("linear, var, losses, instance-norm statistics") {
    Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, DType::f64);
    Tensor w = Tensor::from_vector(std::vector<double>{1, 0, 1, 1, 2, -1}, {3, 2}, DType::f64);
    Tensor b = Tensor::from_vector(std::vector<double>{0, 1, 2}, {3}, DType::f64);
    REQUIRE(linear(x, w, b).to_vector() == std::vector<double>{1, 4, 2, 3, 8, 4});
    REQUIRE(var(x).item() == Approx(5.0 / 3.0));
    REQUIRE(var(x, {}, false).item() == Approx(1.25));
    Tensor y = Tensor::from_vector(std::vector<double>{0, 2, 5, 4}, {2, 2}, DType::f64);
    REQUIRE(l1_loss(x, y).item() == Approx(0.75));
    REQUIRE(mse_loss(x, y).item() == Approx(1.25));
    Tensor img = Tensor::arange(8, DType::f64).view({1, 2, 2, 2});
    auto [m, v] = instance_norm_stats(img);
    REQUIRE(m.to_vector() == std::vector<double>{1.5, 5.5});
    REQUIRE(v.to_vector()[0] == Approx(1.25));
}
