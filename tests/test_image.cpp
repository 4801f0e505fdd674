// Image decode/encode, resizing, channel conversion, grids.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "data/file_io.h"
#include "data/image.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::data;
using Catch::Matchers::Contains;

namespace {
Image gradient(std::int64_t c, std::int64_t h, std::int64_t w) {
    Image img(c, h, w);
    for (std::int64_t k = 0; k < c; ++k)
        for (std::int64_t y = 0; y < h; ++y)
            for (std::int64_t x = 0; x < w; ++x) img.at(k, y, x) = static_cast<float>((k * 37 + y * 11 + x * 3) % 256) / 255.0f;
    return img;
}
}  // namespace

TEST_CASE("PNG round trip is exact for 8-bit values", "[image]") {
    auto dir = testing::temp_dir("image");
    for (std::int64_t c : {1, 3}) {
        Image img = gradient(c, 7, 9);
        std::string path = dir + "/g" + std::to_string(c) + ".png";
        save_png(path, img);
        Image back = load_image(path);
        REQUIRE(back.channels == c);
        REQUIRE(back.height == 7);
        REQUIRE(back.width == 9);
        CHECK(back.pixels == img.pixels);
    }
    // values are clamped on encode
    Image wild(1, 1, 2);
    wild.pixels = {-0.5f, 3.0f};
    auto png = encode_png(wild);
    Image w2 = decode_image(png.data(), png.size(), "mem");
    CHECK(w2.pixels == std::vector<float>{0.0f, 1.0f});
}

TEST_CASE("image errors name the file", "[image]") {
    auto dir = testing::temp_dir("image-err");
    REQUIRE_THROWS_WITH(load_image(dir + "/none.png"), Contains("none.png") && Contains("does not exist"));
    std::ofstream(dir + "/bad.png") << "this is not an image";
    REQUIRE_THROWS_WITH(load_image(dir + "/bad.png"), Contains("bad.png") && Contains("cannot decode"));
    std::ofstream(dir + "/empty.png");
    REQUIRE_THROWS_WITH(load_image(dir + "/empty.png"), Contains("empty.png") && Contains("empty"));
}

TEST_CASE("resize: area when shrinking, bilinear when enlarging", "[image]") {
    Image img = gradient(1, 4, 4);
    Image half = resize(img, 2, 2);
    CHECK(half.at(0, 0, 0) == Approx((img.at(0, 0, 0) + img.at(0, 0, 1) + img.at(0, 1, 0) + img.at(0, 1, 1)) / 4));
    Image same = resize(img, 4, 4);
    CHECK(same.pixels == img.pixels);
    // constant stays constant in both directions, including non-integer ratios
    Image flat(3, 5, 7, 0.25f);
    for (auto [h, w] : {std::pair<int, int>{3, 2}, {11, 13}, {5, 20}}) {
        Image r = resize(flat, h, w);
        for (float v : r.pixels) CHECK(v == Approx(0.25f).margin(1e-6));
    }
    // enlarging a 1 x 2 ramp by 2 matches PyTorch bilinear (align_corners=False)
    Image ramp(1, 1, 2);
    ramp.pixels = {0.0f, 1.0f};
    Image up = resize(ramp, 1, 4);
    CHECK(up.pixels[0] == Approx(0.0f));
    CHECK(up.pixels[1] == Approx(0.25f));
    CHECK(up.pixels[2] == Approx(0.75f));
    CHECK(up.pixels[3] == Approx(1.0f));
}

TEST_CASE("channel conversion and tensors", "[image]") {
    Image g = gradient(1, 3, 3);
    Image rgb = convert_channels(g, 3);
    CHECK(rgb.channels == 3);
    for (int i = 0; i < 9; ++i) {
        CHECK(rgb.pixels[i] == g.pixels[i]);
        CHECK(rgb.pixels[18 + i] == g.pixels[i]);
    }
    Image back = convert_channels(rgb, 1);
    for (int i = 0; i < 9; ++i) CHECK(back.pixels[i] == Approx(g.pixels[i]).margin(1e-6));
    REQUIRE_THROWS_WITH(convert_channels(g, 2), Contains("1<->3"));
    Tensor t = image_to_tensor(rgb);
    CHECK(t.shape() == Shape{3, 3, 3});
    CHECK(image_from_tensor(t).pixels == rgb.pixels);
}

TEST_CASE("image grid", "[image]") {
    auto dir = testing::temp_dir("grid");
    Tensor batch = Tensor::full({5, 3, 4, 6}, 0.0);
    Image grid = make_grid(batch, 2, 1, 1.0f);
    CHECK(grid.channels == 3);
    CHECK(grid.height == 3 * (4 + 1) + 1);
    CHECK(grid.width == 2 * (6 + 1) + 1);
    CHECK(grid.at(0, 0, 0) == 1.0f);  // padding
    CHECK(grid.at(0, 1, 1) == 0.0f);  // first tile
    CHECK(grid.at(0, 11, 1) == 0.0f);  // fifth tile: row 2, column 0, top-left at (11, 1)
    CHECK(grid.at(0, 12, 9) == 1.0f);  // missing sixth tile stays background
    save_image_grid(dir + "/grid.png", batch, 2);
    Image back = load_image(dir + "/grid.png");
    CHECK(back.height == 3 * 6 + 2);
}
