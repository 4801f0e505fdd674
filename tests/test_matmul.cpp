// Matrix products: hand values, transposes, batching and broadcasting, float32 vs float64.
#include <catch2/catch.hpp>

#include "autograd/functional.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("2x3 @ 3x2 by hand, with transposed operands") {
    Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64);
    Tensor b = Tensor::from_vector(std::vector<double>{7, 8, 9, 10, 11, 12}, {3, 2}, DType::f64);
    REQUIRE(matmul(a, b).to_vector() == std::vector<double>{58, 64, 139, 154});
    Tensor at = a.transpose(0, 1).contiguous(), bt = b.transpose(0, 1).contiguous();
    REQUIRE(matmul(at, b, true, false).to_vector() == std::vector<double>{58, 64, 139, 154});
    REQUIRE(matmul(a, bt, false, true).to_vector() == std::vector<double>{58, 64, 139, 154});
    REQUIRE(matmul(at, bt, true, true).to_vector() == std::vector<double>{58, 64, 139, 154});
}

TEST_CASE("batched matmul matches per-item products, with batch broadcasting") {
    Tensor a = Tensor::uniform({5, 4, 6}, -1, 1, 1, 0, DType::f64);
    Tensor b = Tensor::uniform({5, 6, 3}, -1, 1, 2, 0, DType::f64);
    Tensor c = matmul(a, b);
    for (std::int64_t i = 0; i < 5; ++i)
        REQUIRE_CLOSE(c.select(0, i), matmul(a.select(0, i), b.select(0, i)), 1e-14, 1e-12);
    Tensor shared = Tensor::uniform({6, 3}, -1, 1, 3, 0, DType::f64);
    Tensor d = matmul(a, shared);
    REQUIRE(d.shape() == Shape{5, 4, 3});
    REQUIRE_CLOSE(d.select(0, 2), matmul(a.select(0, 2), shared), 1e-14, 1e-12);
    Tensor e = matmul(Tensor::uniform({2, 1, 4, 6}, -1, 1, 4, 0, DType::f64), Tensor::uniform({3, 6, 2}, -1, 1, 5, 0, DType::f64));
    REQUIRE(e.shape() == Shape{2, 3, 4, 2});
}

TEST_CASE("float32 GEMM agrees with float64 on a large product") {
    Tensor a = Tensor::uniform({130, 257}, -1, 1, 6, 0, DType::f64), b = Tensor::uniform({257, 65}, -1, 1, 7, 0, DType::f64);
    Tensor ref = matmul(a, b);
    Tensor got = matmul(a.to(DType::f32), b.to(DType::f32)).to(DType::f64);
    REQUIRE_CLOSE(got, ref, 1e-4, 1e-4);
}
