// The built-in Shapes3D-like generator.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <set>

#include "data/npy.h"
#include "data/synthetic.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::data;
using Catch::Matchers::Contains;

namespace {
std::vector<std::uint8_t> rendered(const shapes::Factors& f) {
    std::vector<std::uint8_t> px(64 * 64 * 3);
    shapes::render(f, px.data());
    return px;
}
double mean_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
    return s / static_cast<double>(a.size());
}
}  // namespace

TEST_CASE("rendering is deterministic per factor tuple", "[synthetic]") {
    shapes::Factors f = {3, 7, 1, 5, 2, 9};
    CHECK(rendered(f) == rendered(f));
    // through the data set path, in a different batch and position, with threads
    auto ds = shapes::generate({{0, 0, 0, 0, 0, 0}, f, {9, 9, 9, 7, 3, 14}});
    std::vector<std::uint8_t> second(ds.pixels_u8.begin() + 64 * 64 * 3, ds.pixels_u8.begin() + 2 * 64 * 64 * 3);
    CHECK(second == rendered(f));
}

TEST_CASE("every factor changes the image; shapes differ in silhouette", "[synthetic]") {
    const shapes::Factors base = {2, 5, 8, 4, 0, 7};
    auto ref = rendered(base);
    for (int k = 0; k < shapes::kNumFactors; ++k) {
        shapes::Factors g = base;
        g[k] = (g[k] + 1) % shapes::kFactorSizes[k];
        INFO("factor " << shapes::kFactorNames[k]);
        CHECK(mean_abs_diff(ref, rendered(g)) > 0.2);
    }
    // same colours, different shapes: pairwise clearly different
    std::vector<std::vector<std::uint8_t>> imgs;
    for (int s = 0; s < 4; ++s) imgs.push_back(rendered({2, 5, 8, 4, s, 7}));
    for (int a = 0; a < 4; ++a)
        for (int b = a + 1; b < 4; ++b) {
            INFO(shapes::kShapeNames[a] << " vs " << shapes::kShapeNames[b]);
            CHECK(mean_abs_diff(imgs[a], imgs[b]) > 0.5);
        }
    REQUIRE_THROWS_WITH(rendered({10, 0, 0, 0, 0, 0}), Contains("floor_hue") && Contains("out of range"));
}

TEST_CASE("generated data set: labels, domain choice, sampling", "[synthetic]") {
    auto ds = shapes::generate(200, 5);
    ds.validate();
    CHECK(ds.count == 200);
    CHECK(ds.n_domains == 4);
    CHECK(ds.domain_names == std::vector<std::string>{"cube", "cylinder", "sphere", "capsule"});
    CHECK(ds.attribute_names == std::vector<std::string>{"floor_hue", "wall_hue", "object_hue", "scale", "orientation"});
    CHECK(ds.attribute_classes == std::vector<std::int64_t>{10, 10, 10, 8, 15});
    auto counts = ds.domain_counts();
    for (auto c : counts) CHECK(c > 20);
    // seeded: same seed, same tuples; distinct tuples
    auto fa = shapes::sample_factors(500, 1), fb = shapes::sample_factors(500, 1);
    CHECK(fa == fb);
    CHECK(fa != shapes::sample_factors(500, 2));
    CHECK(std::set<shapes::Factors>(fa.begin(), fa.end()).size() == 500);
    // images match a direct render of the labels
    auto f7 = shapes::factors_of(ds, 7);
    CHECK(std::vector<std::uint8_t>(ds.pixels_u8.begin() + 7 * 12288, ds.pixels_u8.begin() + 8 * 12288) == rendered(f7));

    shapes::GenerateOptions opt;
    opt.domain_factor = "object_hue";
    auto hue = shapes::generate(50, 5, opt);
    CHECK(hue.n_domains == 10);
    CHECK(hue.attribute_names[2] == "scale");
    CHECK(hue.attribute_names[3] == "shape");
    opt.domain_factor = "colour";
    REQUIRE_THROWS_WITH(shapes::generate(5, 1, opt), Contains("unknown") && Contains("orientation"));
}

TEST_CASE("writing generated data: npz and PNG + CSV", "[synthetic]") {
    auto dir = testing::temp_dir("synthetic");
    auto ds = shapes::generate(12, 9);
    save_npz_dataset(ds, dir + "/shapes.npz");
    auto back = load_npz_dataset(dir + "/shapes.npz");
    CHECK(back.pixels_u8 == ds.pixels_u8);
    CHECK(back.attribute_names == ds.attribute_names);
    CHECK(back.attribute_classes == ds.attribute_classes);
    save_png_csv_dataset(ds, dir + "/png");
    auto csv = load_csv_dataset(dir + "/png/labels.csv");
    CHECK(csv.pixels_u8 == ds.pixels_u8);
    CHECK(csv.domains == ds.domains);
    CHECK(csv.attributes == ds.attributes);
}

TEST_CASE("generator speed (reported, not asserted)", "[synthetic][speed]") {
    auto t0 = std::chrono::steady_clock::now();
    auto ds = shapes::generate(10000, 1);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("synthetic shapes: 10000 images 64x64x3 in %.2f s (%.0f images/s)\n", s, 10000 / s);
    CHECK(ds.count == 10000);
}
