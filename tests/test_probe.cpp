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

TEST_CASE("the regression probe learns a target the codes carry, not one they lack") {
    // 600 codes in 8-d; target "carried" is a linear function of two code dimensions (plus an
    // offset of 30, like pixel coordinates), target "absent" is noise independent of the codes.
    const std::int64_t n = 600;
    auto v = Tensor::normal({n, 8}, 0, 1, 5).to_vector();
    auto noise = Tensor::normal({n}, 0, 1, 6).to_vector();
    std::vector<float> carried, absent;
    for (std::int64_t i = 0; i < n; ++i) {
        carried.push_back(static_cast<float>(30 + 4 * v[i * 8 + 0]));
        carried.push_back(static_cast<float>(20 - 3 * v[i * 8 + 1] + 2 * v[i * 8 + 2]));
        absent.push_back(static_cast<float>(10 + 3 * noise[i]));
    }
    Tensor codes = Tensor::from_vector(v, {n, 8}, DType::f32);
    Tensor tr = codes.slice(0, 0, 450).contiguous(), te = codes.slice(0, 450, n).contiguous();
    method::ProbeConfig c;
    c.max_epochs = 30;
    c.hidden = 32;
    c.batch_size = 32;
    auto r = method::train_regression_probe("carried", tr, std::vector<float>(carried.begin(), carried.begin() + 900), te,
                                            std::vector<float>(carried.begin() + 900, carried.end()), 2, c);
    INFO("test MAE " << r.test_mae << " baseline " << r.baseline_mae << " epochs " << r.epochs);
    CHECK(r.dims == 2);
    CHECK(r.baseline_mae > 2.0);                     // the mean guess is off by pixels
    CHECK(r.test_mae < 0.25 * r.baseline_mae);       // the probe is not
    CHECK(r.epochs >= 1);
    auto r0 = method::train_regression_probe("absent", tr, std::vector<float>(absent.begin(), absent.begin() + 450), te,
                                             std::vector<float>(absent.begin() + 450, absent.end()), 1, c);
    INFO("absent: test MAE " << r0.test_mae << " baseline " << r0.baseline_mae);
    CHECK(r0.test_mae > 0.8 * r0.baseline_mae);
    REQUIRE_THROWS_WITH(method::train_regression_probe("bad", tr, std::vector<float>(10), te, absent, 1, c),
                        Catch::Matchers::Contains("target values"));
}

TEST_CASE("retrieval tolerance: within K steps, around the circle for circular attributes") {
    // One attribute with 18 classes (SmallNORB's azimuth). Train codes e0..e3 carry values
    // 17, 3, 9, 9; each test code sits next to one of them and has value 0.
    data::Dataset train, test;
    for (auto* ds : {&train, &test}) {
        ds->attribute_names = {"azimuth"};
        ds->attribute_classes = {18};
        ds->source = "toy";
    }
    Tensor tr = Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, {4, 4});
    train.count = 4;
    train.attributes = {17, 3, 2, 9};
    // test 0 nearest e0 (17: 1 step around the circle), test 1 nearest e1 (3: 3 steps), test 2
    // nearest e2 (2: 2 steps without wrapping)
    Tensor te = Tensor::from_vector(std::vector<float>{0.99f, 0.14f, 0, 0, 0.14f, 0.99f, 0, 0, 0, 0.14f, 0.99f, 0},
                                    {3, 4});
    test.count = 3;
    test.attributes = {0, 0, 0};
    auto exact = method::retrieval(tr, train, te, test);
    CHECK(exact.top1[0] == 0.0);
    CHECK(exact.match_rules == std::vector<std::string>{"exact"});
    method::RetrievalOptions linear;
    linear.tolerance["azimuth"] = 2;
    auto lin = method::retrieval(tr, train, te, test, linear);
    CHECK(lin.top1[0] == Approx(1.0 / 3));  // only the 2-step neighbour; 17 is 17 steps away
    method::RetrievalOptions circ = linear;
    circ.circular = {"azimuth"};
    auto c = method::retrieval(tr, train, te, test, circ);
    CHECK(c.top1[0] == Approx(2.0 / 3));    // 17 is one step from 0 around the circle; 3 is still too far
    CHECK(c.top1_all == Approx(2.0 / 3));
    CHECK(c.match_rules == std::vector<std::string>{"+-2 circular of 18"});
    method::RetrievalOptions bad;
    bad.circular = {"elevation"};
    REQUIRE_THROWS_WITH(method::retrieval(tr, train, te, test, bad),
                        Catch::Matchers::Contains("--circular") && Catch::Matchers::Contains("'elevation'") &&
                            Catch::Matchers::Contains("azimuth"));
}

TEST_CASE("domains with fewer than N images are dropped, ids kept (the authors' CelebA filter)") {
    data::Dataset ds;
    ds.source = "toy";
    ds.count = 7;
    ds.height = ds.width = 1;
    ds.channels = 1;
    ds.pixels_u8 = {0, 1, 2, 3, 4, 5, 6};
    ds.domains = {0, 1, 1, 2, 2, 2, 1};
    ds.n_domains = 3;
    ds.targets.push_back({"landmarks", 1, {0, 10, 20, 30, 40, 50, 60}});
    auto kept = data::keep_domains_with_at_least(ds, 3);
    CHECK(kept.domains == std::vector<std::int64_t>{1, 1, 2, 2, 2, 1});
    CHECK(kept.n_domains == 3);
    CHECK(kept.pixels_u8 == std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});
    CHECK(kept.targets[0].values == std::vector<float>{10, 20, 30, 40, 50, 60});
    REQUIRE_THROWS_WITH(data::keep_domains_with_at_least(ds, 4), Catch::Matchers::Contains("no domain has 4"));
}
