// The JPEG structure checks (data/jpeg_checks.cpp): truncated files and frames that claim more
// blocks than their entropy-coded data can hold are refused; valid files, baseline and
// progressive, right at the bound, are not.
#include <stb_image_write.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "data/dataset.h"
#include "data/image.h"
#include "data/jpeg_checks.h"
#include "tests/test_util.h"

using namespace dcodr;
using Catch::Matchers::Contains;
using Bytes = std::vector<std::uint8_t>;

namespace {

void append(Bytes& b, std::initializer_list<int> v) {
    for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
}

// A one-component JPEG with one DC Huffman code '0' (difference category 0) and, for a
// sequential frame, one AC code '0' (end of block): each 8x8 block then costs exactly 2 bits
// (sequential) or 1 bit (a progressive DC scan), the least the format allows, and decodes to
// mid-gray. `scan` is the entropy-coded data. `without` drops a table: 'q' the quantisation
// table, 'a' the AC Huffman table.
Bytes minimal_jpeg(int width, int height, bool progressive, const Bytes& scan, char without = 0) {
    Bytes b;
    append(b, {0xFF, 0xD8});
    if (without != 'q') {
        append(b, {0xFF, 0xDB, 0x00, 0x43, 0x00});  // quantisation table 0, all ones
        b.insert(b.end(), 64, 1);
    }
    append(b, {0xFF, progressive ? 0xC2 : 0xC0, 0x00, 0x0B, 8, height >> 8, height & 255, width >> 8, width & 255, 1,
               1, 0x11, 0});
    for (int table_class : progressive || without == 'a' ? std::vector<int>{0x00} : std::vector<int>{0x00, 0x10}) {
        append(b, {0xFF, 0xC4, 0x00, 0x14, table_class, 1});  // one code of length 1 ...
        b.insert(b.end(), 15, 0);
        append(b, {0x00});  // ... for symbol 0
    }
    append(b, {0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 0, progressive ? 0 : 63, 0});
    b.insert(b.end(), scan.begin(), scan.end());
    append(b, {0xFF, 0xD9});
    return b;
}

// The message of the dcodr::Error that `f` throws, or "(no error)".
std::string error_from(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// The structure check alone, for scans stb would not decode.
std::string check_error(const Bytes& jpeg) {
    return error_from([&] { data::check_jpeg(jpeg.data(), jpeg.size(), "t.jpg"); });
}

// The whole decode: the checks, then stb.
std::string error_of(const Bytes& jpeg) {
    return error_from([&] { data::decode_image(jpeg.data(), jpeg.size(), "t.jpg"); });
}

// A real picture, written by stb's baseline encoder: 3 components, 2x2 chroma subsampling.
Bytes stb_jpeg(int width, int height) {
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(width * height * 3));
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < 3; ++c) rgb[(y * width + x) * 3 + c] = static_cast<std::uint8_t>((x * 7 + y * 5 + c * 60) % 256);
    Bytes out;
    auto sink = [](void* ctx, void* data, int n) {
        auto* o = static_cast<Bytes*>(ctx);
        o->insert(o->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + n);
    };
    REQUIRE(stbi_write_jpg_to_func(sink, &out, width, height, 3, rgb.data(), 90));
    return out;
}

}  // namespace

TEST_CASE("a sequential JPEG needs 2 bits per block: accepted at the bound, refused below it", "[jpeg]") {
    // 16 x 16: 4 blocks, 8 bits.
    const Bytes at_bound = minimal_jpeg(16, 16, false, {0x00});
    auto img = data::decode_image(at_bound.data(), at_bound.size(), "t.jpg");
    REQUIRE(img.height == 16);
    CHECK(std::abs(img.at(0, 15, 15) - 128.0f / 255.0f) < 2.0f / 255.0f);
    CHECK_THAT(error_of(minimal_jpeg(16, 16, false, {})), Contains("4 blocks") && Contains("at least 1 bytes"));
    // 17 x 16: a partial block column makes 6 blocks, 12 bits, 2 bytes.
    CHECK(error_of(minimal_jpeg(17, 16, false, {0x00, 0x0F})) == "(no error)");
    CHECK_THAT(error_of(minimal_jpeg(17, 16, false, {0x00})), Contains("a 17 x 16 sequential JPEG has 6 blocks"));
}

TEST_CASE("a progressive JPEG needs 1 bit per block: accepted at the bound, refused below it", "[jpeg]") {
    // 32 x 32: 16 blocks, 16 bits.
    CHECK(error_of(minimal_jpeg(32, 32, true, {0x00, 0x00})) == "(no error)");
    CHECK_THAT(error_of(minimal_jpeg(32, 32, true, {0x00})),
               Contains("progressive JPEG has 16 blocks") && Contains("at least 2 bytes") && Contains("the file has 1"));
    // Stuffed 0xFF bytes count once, restart markers not at all.
    CHECK(check_error(minimal_jpeg(32, 32, true, {0xFF, 0x00, 0x00})) == "(no error)");
    CHECK_THAT(check_error(minimal_jpeg(32, 32, true, {0xFF, 0x00, 0xFF, 0xD0})), Contains("the file has 1"));
}

TEST_CASE("a scan that uses a table no segment defined is refused (stb would read uninitialised memory)", "[jpeg]") {
    REQUIRE(error_of(minimal_jpeg(16, 16, false, {0x00})) == "(no error)");
    CHECK_THAT(error_of(minimal_jpeg(16, 16, false, {0x00}, 'a')), Contains("AC Huffman table 0"));
    CHECK_THAT(error_of(minimal_jpeg(16, 16, false, {0x00}, 'q')), Contains("quantisation table 0"));
    // A progressive DC scan needs no AC table (the 1-bit test above decodes without one).
    CHECK_THAT(error_of(minimal_jpeg(32, 32, true, {0x00, 0x00}, 'q')), Contains("quantisation table 0"));
}

TEST_CASE("a JPEG that ends before its end-of-image marker is refused as truncated", "[jpeg]") {
    const Bytes whole = stb_jpeg(48, 40);
    REQUIRE(error_of(whole) == "(no error)");
    for (std::size_t keep : {whole.size() - 2, whole.size() - 1, whole.size() * 2 / 3, whole.size() / 2, std::size_t{30}}) {
        INFO("kept " << keep << " of " << whole.size() << " bytes");
        CHECK_THAT(error_of(Bytes(whole.begin(), whole.begin() + static_cast<long>(keep))),
                   Contains("t.jpg") && Contains("ends before its end-of-image marker"));
    }
    // stb reads 0xFF fill bytes before the start-of-image marker: so must the checks.
    Bytes filled(whole.begin(), whole.begin() + static_cast<long>(whole.size() / 2));
    filled.insert(filled.begin(), 2, 0xFF);
    CHECK_THAT(error_of(filled), Contains("ends before its end-of-image marker"));
    // Bytes after the marker (some cameras append data) are not the image's business.
    Bytes trailing = whole;
    trailing.insert(trailing.end(), 100, 0xAB);
    CHECK(error_of(trailing) == "(no error)");
}

TEST_CASE("an end-of-image marker inside a metadata segment is not the image's end", "[jpeg]") {
    // An EXIF thumbnail is a whole JPEG inside an APP1 segment; its markers must be skipped.
    const Bytes whole = stb_jpeg(24, 24);
    Bytes with_app1(whole.begin() + 2, whole.end());
    with_app1.insert(with_app1.begin(), {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 0xFF, 0xD9, 0xFF, 0xD8, 0xFF, 0xD9});
    CHECK(error_of(with_app1) == "(no error)");
    with_app1.resize(with_app1.size() - 2);
    CHECK_THAT(error_of(with_app1), Contains("ends before its end-of-image marker"));
}

TEST_CASE("a truncated JPEG named by a CSV row is refused when the data set is loaded", "[jpeg]") {
    auto dir = testing::temp_dir("jpeg_csv");
    const Bytes whole = stb_jpeg(16, 16);
    std::ofstream(dir + "/a.jpg", std::ios::binary).write(reinterpret_cast<const char*>(whole.data()), whole.size());
    std::ofstream(dir + "/b.jpg", std::ios::binary).write(reinterpret_cast<const char*>(whole.data()), whole.size() / 2);
    std::ofstream(dir + "/labels.csv") << "path,domain\na.jpg,0\nb.jpg,1\n";
    try {
        data::load_dataset(dir + "/labels.csv");
        FAIL("the truncated b.jpg was accepted");
    } catch (const Error& e) {
        CHECK_THAT(std::string(e.what()), Contains("line 3") && Contains("b.jpg") && Contains("end-of-image"));
    }
    std::filesystem::remove_all(dir);
}
