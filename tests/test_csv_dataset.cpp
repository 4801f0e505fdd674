// Image folder + CSV data sets, batch conversion and splits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/npy.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::data;
using Catch::Matchers::Contains;

namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// A w x h image whose every pixel is `value` (channels 1 or 3).
void write_png(const std::string& path, std::int64_t c, std::int64_t h, std::int64_t w, float value) {
    save_png(path, Image(c, h, w, value));
}

}  // namespace

TEST_CASE("csv parsing: quotes, CRLF, blank lines, line numbers", "[csv]") {
    auto rows = parse_csv("a,b\r\n\n\"x, y\",\"say \"\"hi\"\"\"\n  p , q \n", "t.csv");
    REQUIRE(rows.size() == 3);
    CHECK(rows[1].line == 3);
    CHECK(rows[1].fields == std::vector<std::string>{"x, y", "say \"hi\""});
    CHECK(rows[2].fields == std::vector<std::string>{"p", "q"});
    CHECK(rows[2].line == 4);
    REQUIRE_THROWS_WITH(parse_csv("a,\"b\n", "bad.csv"), Contains("bad.csv") && Contains("unterminated"));
    CHECK(csv_escape("a,b") == "\"a,b\"");
}

TEST_CASE("csv data set: string and integer labels, relative paths, mixed channels", "[csv][dataset]") {
    auto dir = testing::temp_dir("csv");
    std::filesystem::create_directories(dir + "/img");
    write_png(dir + "/img/a.png", 3, 8, 8, 0.2f);
    write_png(dir + "/img/b.png", 1, 8, 8, 0.6f);
    write_png(dir + "/img/c.png", 3, 8, 8, 1.0f);
    write_png(dir + "/img/d.png", 3, 8, 8, 0.0f);
    write_text(dir + "/labels.csv",
               "path,domain,azimuth,colour\n"
               "img/a.png,photo,3,red\n"
               "img/b.png,sketch,0,blue\n"
               "img/c.png,photo,1,red\n"
               "img/d.png,edges,2,green\n");
    Dataset ds = load_csv_dataset(dir + "/labels.csv");
    CHECK(ds.count == 4);
    CHECK(ds.channels == 3);  // one colour image -> all converted to 3 channels
    CHECK(ds.height == 8);
    CHECK(ds.domain_names == std::vector<std::string>{"edges", "photo", "sketch"});
    CHECK(ds.domains == std::vector<std::int64_t>{1, 2, 1, 0});
    CHECK(ds.n_domains == 3);
    CHECK(ds.attribute_names == std::vector<std::string>{"azimuth", "colour"});
    CHECK(ds.attribute_classes == std::vector<std::int64_t>{4, 3});
    CHECK(ds.attribute(0, 0) == 3);
    CHECK(ds.attribute(1, 1) == 0);  // blue < green < red
    CHECK(ds.attribute(3, 1) == 1);
    // gray image tiled: all channels 0.6
    CHECK(ds.pixels_u8[64 * 3 + 0] == 153);
    CHECK(ds.pixels_u8[64 * 3 + 2] == 153);

    // resize at load time
    CsvOptions opt;
    opt.height = opt.width = 4;
    opt.channels = 1;
    Dataset small = load_csv_dataset(dir + "/labels.csv", opt);
    CHECK(small.height == 4);
    CHECK(small.channels == 1);

    // write back as PNG + CSV, read again: same labels and pixels
    save_png_csv_dataset(ds, dir + "/out");
    Dataset again = load_csv_dataset(dir + "/out/labels.csv");
    CHECK(again.pixels_u8 == ds.pixels_u8);
    CHECK(again.domains == ds.domains);
    CHECK(again.domain_names == ds.domain_names);
    CHECK(again.attributes == ds.attributes);
}

TEST_CASE("csv data set errors name the CSV line and column", "[csv][dataset]") {
    auto dir = testing::temp_dir("csv-err");
    write_png(dir + "/a.png", 3, 8, 8, 0.5f);
    write_png(dir + "/small.png", 3, 4, 4, 0.5f);
    write_text(dir + "/nodomain.csv", "path,label\na.png,1\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/nodomain.csv"),
                        Contains("nodomain.csv") && Contains("line 1") && Contains("missing column 'domain'"));
    write_text(dir + "/short.csv", "path,domain,pose\na.png,0,1\na.png,1\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/short.csv"),
                        Contains("short.csv") && Contains("line 3") && Contains("missing column 'pose'"));
    write_text(dir + "/noimage.csv", "path,domain\na.png,0\nnot_there.png,1\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/noimage.csv"),
                        Contains("noimage.csv") && Contains("line 3") && Contains("not_there.png") &&
                            Contains("does not exist"));
    write_text(dir + "/size.csv", "path,domain\na.png,0\nsmall.png,1\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/size.csv"), Contains("size.csv") && Contains("line 3"));
    write_text(dir + "/notimage.csv", "path,domain\nnotimage.csv,0\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/notimage.csv"), Contains("line 2") && Contains("cannot decode image"));
    write_text(dir + "/empty.csv", "path,domain\na.png,\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/empty.csv"),
                        Contains("empty.csv") && Contains("line 2") && Contains("'domain'"));
    write_text(dir + "/neg.csv", "path,domain\na.png,-1\n");
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/neg.csv"), Contains("neg.csv") && Contains(">= 0"));
    REQUIRE_THROWS_WITH(load_csv_dataset(dir + "/absent.csv"), Contains("absent.csv") && Contains("does not exist"));
}

TEST_CASE("batches: float [B, C, H, W], resize, channel tiling, labels", "[dataset]") {
    Dataset ds;
    ds.source = "mem";
    ds.count = 3;
    ds.height = ds.width = 4;
    ds.channels = 1;
    for (int i = 0; i < 3; ++i)
        for (int p = 0; p < 16; ++p) ds.pixels_u8.push_back(static_cast<std::uint8_t>(i * 100 + p));
    ds.domains = {0, 1, 0};
    ds.n_domains = 2;
    ds.attribute_names = {"a"};
    ds.attribute_classes = {5};
    ds.attributes = {4, 2, 0};
    ds.validate();

    Tensor b = load_batch(ds, {2, 0});
    REQUIRE(b.shape() == Shape{2, 1, 4, 4});
    auto v = b.to_float_vector();
    CHECK(v[0] == Approx(200 / 255.0));
    CHECK(v[16 + 5] == Approx(5 / 255.0));

    ImageFormat f;
    f.channels = 3;
    f.height = f.width = 2;  // area: mean of 2x2 blocks
    Tensor t = load_batch(ds, {1}, f);
    REQUIRE(t.shape() == Shape{1, 3, 2, 2});
    auto tv = t.to_float_vector();
    CHECK(tv[0] == Approx(102.5 / 255.0).margin(1e-5));  // mean of 100, 101, 104, 105
    CHECK(tv[0] == tv[4]);
    CHECK(tv[3] == tv[11]);
    f.height = f.width = 8;  // bilinear enlarging keeps the range
    auto up = load_batch(ds, {0}, f).to_float_vector();
    CHECK(*std::max_element(up.begin(), up.end()) <= 15 / 255.0 + 1e-6);

    CHECK(batch_domains(ds, {2, 1}).to_int_vector() == std::vector<std::int64_t>{0, 1});
    CHECK(batch_attributes(ds, {0, 1}).to_int_vector() == std::vector<std::int64_t>{4, 2});
    REQUIRE_THROWS_WITH(load_batch(ds, {3}), Contains("out of range"));

    Dataset sub = ds.subset({2, 1});
    CHECK(sub.count == 2);
    CHECK(sub.domains == std::vector<std::int64_t>{0, 1});
    CHECK(sub.pixels_u8[0] == 200);
}

TEST_CASE("seeded train/test split", "[dataset]") {
    auto [tr, te] = split_indices(100, 0.2, 7);
    CHECK(tr.size() == 80);
    CHECK(te.size() == 20);
    std::set<std::int64_t> all(tr.begin(), tr.end());
    all.insert(te.begin(), te.end());
    CHECK(all.size() == 100);
    auto again = split_indices(100, 0.2, 7);
    CHECK(again.second == te);
    CHECK(split_indices(100, 0.2, 8).second != te);

    Dataset ds;
    ds.source = "mem";
    ds.count = 40;
    ds.height = ds.width = 1;
    ds.channels = 1;
    ds.pixels_u8.assign(40, 0);
    ds.n_domains = 2;
    for (int i = 0; i < 40; ++i) ds.domains.push_back(i < 30 ? 0 : 1);
    ds.validate();
    auto [train, test] = train_test_split(ds, 0.1, 3);
    CHECK(test.count == 4);  // 3 of domain 0 + 1 of domain 1
    CHECK(std::count(test.domains.begin(), test.domains.end(), 1) == 1);
    CHECK(train.count == 36);
}

TEST_CASE("float image storage: npz <f4 images and batches", "[dataset]") {
    auto dir = testing::temp_dir("float-ds");
    Dataset ds;
    ds.source = "float";
    ds.count = 2;
    ds.height = ds.width = 2;
    ds.channels = 3;
    for (int i = 0; i < 24; ++i) ds.pixels_f32.push_back(static_cast<float>(i) / 23.0f);
    ds.domains = {0, 1};
    ds.n_domains = 2;
    ds.validate();
    auto b = load_batch(ds, {1}).to_float_vector();
    CHECK(b[0] == Approx(12 / 23.0));  // HWC -> CHW: channel 0 of pixel 0
    CHECK(b[1] == Approx(15 / 23.0));  // channel 0 of pixel 1
    CHECK(b[4] == Approx(13 / 23.0));  // channel 1 of pixel 0
    // an npz with float images in [0, 1] loads as float; out-of-range floats are rejected
    save_npz(dir + "/f.npz", {{"imgs", NpyArray::from_f32(ds.pixels_f32, {2, 2, 2, 3})},
                              {"classes", NpyArray::from_i64({0, 1}, {2})}});
    Dataset f = load_dataset(dir + "/f.npz");
    CHECK(f.is_float());
    CHECK(f.pixels_f32 == ds.pixels_f32);
    auto scaled = ds.pixels_f32;
    for (auto& x : scaled) x *= 255.0f;
    save_npz(dir + "/g.npz", {{"imgs", NpyArray::from_f32(scaled, {2, 2, 2, 3})},
                              {"classes", NpyArray::from_i64({0, 1}, {2})}});
    REQUIRE_THROWS_WITH(load_dataset(dir + "/g.npz"), Contains("g.npz") && Contains("[0, 1]"));
    REQUIRE_THROWS_WITH(load_dataset(dir + "/x.h5"), Contains("x.h5") && Contains(".npz or .csv"));
}
