// The evaluation protocol on codes whose information content is known by construction.
#include <catch2/catch.hpp>

#include "method/evaluation.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("an MLP probe decodes a label the codes carry and not one they lack") {
    // 600 codes in 8-d: dims 0-1 encode label A (4 classes) as well-separated clusters; B is
    // independent of the codes.
    const std::int64_t n = 600;
    Tensor noise = Tensor::normal({n, 8}, 0, 0.1, 3);
    auto v = noise.to_vector();
    std::vector<std::int64_t> a(n), b(n);
    for (std::int64_t i = 0; i < n; ++i) {
        a[i] = i % 4;
        b[i] = (i * 7919 / 3) % 3;
        v[i * 8 + 0] += (a[i] & 1) ? 1.0 : -1.0;
        v[i * 8 + 1] += (a[i] & 2) ? 1.0 : -1.0;
    }
    Tensor codes = Tensor::from_vector(v, {n, 8}, DType::f32);
    Tensor tr = codes.slice(0, 0, 450).contiguous(), te = codes.slice(0, 450, n).contiguous();
    std::vector<std::int64_t> a_tr(a.begin(), a.begin() + 450), a_te(a.begin() + 450, a.end());
    std::vector<std::int64_t> b_tr(b.begin(), b.begin() + 450), b_te(b.begin() + 450, b.end());
    method::ProbeConfig c;
    c.max_epochs = 20;
    c.hidden = 32;
    auto ra = method::train_probe("a", tr, a_tr, te, a_te, 4, c);
    auto rb = method::train_probe("b", tr, b_tr, te, b_te, 3, c);
    REQUIRE(ra.test_accuracy > 0.95);
    REQUIRE(rb.test_accuracy < rb.chance + 0.15);
    REQUIRE(ra.chance == Approx(0.25).margin(0.02));
    REQUIRE(ra.epochs >= 1);
}

TEST_CASE("retrieval finds the nearest other code and counts attribute matches") {
    data::Dataset train, test;
    for (auto* ds : {&train, &test}) {
        ds->attribute_names = {"x", "y"};
        ds->attribute_classes = {2, 2};
    }
    // Train codes: e0 (x0 y0), e1 (x1 y0). Test: near e0 (x0 y1) and near e1 (x1 y0).
    Tensor tr = Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2});
    Tensor te = Tensor::from_vector(std::vector<float>{0.99f, 0.14f, 0.14f, 0.99f}, {2, 2});
    train.count = 2;
    train.attributes = {0, 0, 1, 0};
    test.count = 2;
    test.attributes = {0, 1, 1, 0};
    auto r = method::retrieval(tr, train, te, test);
    REQUIRE(r.top1[0] == 1.0);   // x matches for both
    REQUIRE(r.top1[1] == 0.5);   // y matches only for the second
    REQUIRE(r.top1_all == 0.5);
}
