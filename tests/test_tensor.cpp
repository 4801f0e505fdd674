#include <catch2/catch.hpp>

#include "tensor/cpu/host_cache.h"
#include "tensor/ops.h"
#include "tensor/philox.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("views share storage and compute strides") {
    Tensor t = Tensor::arange(24).view({2, 3, 4});
    REQUIRE(t.is_contiguous());
    Tensor p = t.permute({2, 0, 1});
    REQUIRE(p.shape() == Shape{4, 2, 3});
    REQUIRE_FALSE(p.is_contiguous());
    REQUIRE(p.contiguous().to_vector()[1] == 4.0);  // p[0,0,1] = t[0,1,0]
    Tensor s = t.slice(2, 1, 4, 2);                    // columns 1 and 3
    REQUIRE(s.shape() == Shape{2, 3, 2});
    REQUIRE(s.contiguous().to_vector() == std::vector<double>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
    s.fill_(-1);
    REQUIRE(t.to_vector()[1] == -1.0);  // writes through the view
    REQUIRE(t.select(1, 2).shape() == Shape{2, 4});
    REQUIRE(t.transpose(0, 2).size(0) == 4);
    REQUIRE(t.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
    REQUIRE(t.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
    REQUIRE(t.reshape({-1, 4}).shape() == Shape{6, 4});
    REQUIRE(t.flatten(1).shape() == Shape{2, 12});
}

TEST_CASE("expand broadcasts with stride 0 and copies convert dtype") {
    Tensor row = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3});
    Tensor e = row.expand({2, 3});
    REQUIRE(e.strides()[0] == 0);
    REQUIRE(e.to(DType::f64).contiguous().to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3});
    Tensor i = row.to(DType::i64);
    REQUIRE(i.dtype() == DType::i64);
    REQUIRE(i.to_int_vector() == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("bad calls throw errors that say what was expected") {
    Tensor t = Tensor::zeros({2, 3});
    REQUIRE_THROWS_WITH(t.view({4, 2}), Catch::Contains("does not match"));
    REQUIRE_THROWS_WITH(kernels::binary(BinaryOp::add, t, Tensor::zeros({4})), Catch::Contains("cannot be broadcast"));
    REQUIRE_THROWS_WITH(kernels::binary(BinaryOp::add, t, Tensor::zeros({2, 3}, DType::f64)),
                        Catch::Contains("dtype float32"));
    REQUIRE_THROWS_WITH(kernels::matmul(t, t), Catch::Contains("inner dimensions"));
    REQUIRE_THROWS_WITH(t.item(), Catch::Contains("expected 1"));
    REQUIRE_THROWS_WITH(Device::parse("gpu"), Catch::Contains("expected 'cpu', 'cuda'"));
    if (!cuda_compiled()) REQUIRE_THROWS_WITH(t.to(Device::cuda()), Catch::Contains("built without CUDA"));
}

TEST_CASE("Philox 4x32-10 matches the Random123 known-answer vector") {
    // Random123 kat_vectors: philox4x32 10 rounds, counter 0, key 0.
    auto r = philox::block(0, 0);
    REQUIRE(r.v[0] == 0x6627e8d5u);
    REQUIRE(r.v[1] == 0xe169c58du);
    REQUIRE(r.v[2] == 0xbc57ac4cu);
    REQUIRE(r.v[3] == 0x9b00dbd8u);
}

TEST_CASE("seeded random tensors are reproducible, offset-addressable and well distributed") {
    Tensor a = Tensor::uniform({1000}, 0, 1, 42);
    Tensor b = Tensor::uniform({1000}, 0, 1, 42);
    REQUIRE(a.to_vector() == b.to_vector());
    Tensor c = Tensor::uniform({1000}, 0, 1, 43);
    REQUIRE(a.to_vector() != c.to_vector());
    // Offset k counters = skipping 4k elements of the same stream.
    Tensor tail = Tensor::uniform({8}, 0, 1, 42, 2);
    auto va = a.to_vector(), vt = tail.to_vector();
    for (int i = 0; i < 8; ++i) REQUIRE(vt[i] == va[8 + i]);
    Tensor n = Tensor::normal({20000}, 2.0, 3.0, 7, 0, DType::f64);
    double m = kernels::mean(n).item();
    Tensor centred = kernels::unary(UnaryOp::add_scalar, n, -m);
    double var = kernels::mean(kernels::unary(UnaryOp::square, centred)).item();
    REQUIRE(m == Approx(2.0).margin(0.08));
    REQUIRE(std::sqrt(var) == Approx(3.0).margin(0.08));
    double um = kernels::mean(Tensor::uniform({20000}, -1, 3, 9, 0, DType::f64)).item();
    REQUIRE(um == Approx(1.0).margin(0.05));
}

TEST_CASE("printing shows shape, dtype and values") {
    Tensor t = Tensor::arange(4).view({2, 2});
    std::string s = t.str();
    REQUIRE(s.find("shape=[2, 2]") != std::string::npos);
    REQUIRE(s.find("[[0, 1],") != std::string::npos);
}

TEST_CASE("the host allocator reuses freed blocks of the same size class") {
    HostCache cache(1 << 20);
    REQUIRE(HostCache::size_class(100) == 128);
    REQUIRE(HostCache::size_class(5000) == 5120);     // 4096 + 1024 (8 steps per power of two)
    REQUIRE(HostCache::size_class(1 << 20) == 1 << 20);
    void* a = cache.allocate(5000);
    REQUIRE(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
    cache.release(a, 5000);
    REQUIRE(cache.cached_bytes() == 5120);
    void* b = cache.allocate(5100);  // same class: the cached block comes back
    REQUIRE(b == a);
    REQUIRE(cache.cached_bytes() == 0);
    void* big = cache.allocate(2 << 20);  // over the cache budget when released: freed at once
    cache.release(big, 2 << 20);
    REQUIRE(cache.cached_bytes() == 0);
    cache.release(b, 5100);
    cache.trim();
    REQUIRE(cache.cached_bytes() == 0);
}

TEST_CASE("the host allocator counts live bytes and their peak (bench step's CPU memory figure)") {
    HostCache cache(1 << 20);
    REQUIRE(cache.live_bytes() == 0);
    void* a = cache.allocate(5000);  // class 5120
    void* b = cache.allocate(100);   // class 128
    REQUIRE(cache.live_bytes() == 5120 + 128);
    cache.release(a, 5000);
    REQUIRE(cache.live_bytes() == 128);
    REQUIRE(cache.peak_live_bytes() == 5120 + 128);
    void* c = cache.allocate(5000);  // from the cache: counted as live again
    REQUIRE(cache.live_bytes() == 5120 + 128);
    cache.release(c, 5000);
    cache.reset_peak();
    REQUIRE(cache.peak_live_bytes() == 128);
    cache.release(b, 100);
    REQUIRE(cache.live_bytes() == 0);
    REQUIRE(cache.peak_live_bytes() == 128);
}
