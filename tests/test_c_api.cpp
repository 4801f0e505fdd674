// The C API (method/c_api/dcodr.h): opening encoder files, sizes, codes equal to dcodr encode's
// path (load_batch + the encoder), both input layouts, error codes and messages, concurrent
// encodes on one handle, and float16 / bfloat16 weights against float32.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "method/c_api/dcodr.h"
#include "method/encoder_file.h"
#include "tests/tiny_encoder.h"

using namespace dcodr;
using testing::TinyEncoderOptions;
using testing::write_tiny_encoder;

namespace {

std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() / ("dcodr_test_c_api_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
}

std::string tiny_file(const std::string& name, const TinyEncoderOptions& o = {}) {
    std::string p = (temp_dir() / name).string();
    write_tiny_encoder(p, o);
    return p;
}

struct Handle {
    dcodr_encoder* e = nullptr;
    explicit Handle(const std::string& path) {
        dcodr_status s = dcodr_encoder_open(path.c_str(), &e);
        INFO(dcodr_last_error());
        REQUIRE(s == DCODR_OK);
        REQUIRE(e != nullptr);
    }
    ~Handle() { dcodr_encoder_free(e); }
};

// n random uint8 images [H, W, C].
data::Dataset random_images(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c, std::uint32_t seed) {
    data::Dataset ds;
    ds.source = "random";
    ds.count = n, ds.height = h, ds.width = w, ds.channels = c;
    std::mt19937 rng(seed);
    ds.pixels_u8.resize(static_cast<std::size_t>(n * h * w * c));
    for (auto& p : ds.pixels_u8) p = static_cast<std::uint8_t>(rng() & 0xFF);
    ds.domains.assign(static_cast<std::size_t>(n), 0);
    ds.n_domains = 1;
    return ds;
}

std::vector<float> encode_u8(const Handle& h, const data::Dataset& ds) {
    std::vector<float> codes(static_cast<std::size_t>(ds.count * dcodr_encoder_code_size(h.e)), -7.0f);
    dcodr_status s = dcodr_encode_u8_hwc(h.e, ds.pixels_u8.data(), ds.count, ds.height, ds.width, ds.channels,
                                         codes.data());
    INFO(dcodr_last_error());
    REQUIRE(s == DCODR_OK);
    return codes;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
    return m;
}

double min_cosine(const std::vector<float>& a, const std::vector<float>& b, std::int64_t dim) {
    double worst = 1;
    for (std::size_t at = 0; at < a.size(); at += static_cast<std::size_t>(dim)) {
        double ab = 0, aa = 0, bb = 0;
        for (std::int64_t j = 0; j < dim; ++j) {
            ab += double(a[at + j]) * b[at + j];
            aa += double(a[at + j]) * a[at + j];
            bb += double(b[at + j]) * b[at + j];
        }
        worst = std::min(worst, ab / std::sqrt(aa * bb));
    }
    return worst;
}

}  // namespace

TEST_CASE("c api: opens a dcodr train-layout file and reports its sizes", "[c_api]") {
    TinyEncoderOptions o;
    o.image_size = 24;
    o.code_dim = 12;
    Handle h(tiny_file("sizes.safetensors", o));
    CHECK(dcodr_encoder_input_height(h.e) == 24);
    CHECK(dcodr_encoder_input_width(h.e) == 24);
    CHECK(dcodr_encoder_input_channels(h.e) == 3);
    CHECK(dcodr_encoder_code_size(h.e) == 12);
    CHECK(dcodr_encoder_code_size(nullptr) == -1);
    CHECK(dcodr_encoder_input_height(nullptr) == -1);
    CHECK(dcodr_api_version() == DCODR_API_VERSION);
    CHECK(std::string(dcodr_status_name(DCODR_ERR_IO)) == "DCODR_ERR_IO");
}

TEST_CASE("c api: codes equal dcodr encode's path, resized and gray inputs included", "[c_api]") {
    const std::string path = tiny_file("codes.safetensors");
    Handle h(path);
    method::LoadedEncoder ref = method::load_encoder_file(path, Device::cpu());
    for (auto [hh, ww, cc] : {std::tuple{32, 32, 3}, std::tuple{45, 27, 3}, std::tuple{16, 16, 1}}) {
        INFO("images " << hh << "x" << ww << "x" << cc);
        data::Dataset ds = random_images(6, hh, ww, cc, 100 + hh);
        std::vector<float> codes = encode_u8(h, ds);
        std::vector<double> want = method::encode_dataset(*ref.encoder, ds, 32, Device::cpu()).to_vector();
        CHECK(max_abs_diff(codes, want) <= 1e-6);
        for (std::int64_t i = 0; i < ds.count; ++i) {  // unit rows, and not all the same code
            double n = 0;
            for (std::int64_t j = 0; j < 8; ++j) n += double(codes[i * 8 + j]) * codes[i * 8 + j];
            CHECK(std::fabs(n - 1) < 1e-5);
        }
        CHECK(min_cosine(std::vector<float>(codes.begin(), codes.begin() + 8),
                         std::vector<float>(codes.begin() + 8, codes.begin() + 16), 8) < 0.9999);
    }
}

TEST_CASE("c api: float CHW input of the same pixels gives the uint8 HWC codes", "[c_api]") {
    Handle h(tiny_file("layouts.safetensors"));
    data::Dataset ds = random_images(3, 20, 28, 3, 7);
    std::vector<float> from_u8 = encode_u8(h, ds);
    std::vector<float> chw(ds.pixels_u8.size());
    const std::int64_t plane = 20 * 28;
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t p = 0; p < plane; ++p)
            for (std::int64_t c = 0; c < 3; ++c)
                chw[static_cast<std::size_t>(i * 3 * plane + c * plane + p)] =
                    ds.pixels_u8[static_cast<std::size_t>((i * plane + p) * 3 + c)] / 255.0f;
    std::vector<float> from_f32(from_u8.size());
    REQUIRE(dcodr_encode_f32_chw(h.e, chw.data(), 3, 3, 20, 28, from_f32.data()) == DCODR_OK);
    CHECK(from_f32 == from_u8);
}

TEST_CASE("c api: batches past one internal chunk (32) give each image's own code", "[c_api]") {
    TinyEncoderOptions o;
    o.image_size = 16;
    Handle h(tiny_file("chunks.safetensors", o));
    data::Dataset ds = random_images(70, 8, 8, 3, 3);
    std::vector<float> all = encode_u8(h, ds);
    data::Dataset tail = ds.subset({33, 69});
    std::vector<float> part = encode_u8(h, tail);
    std::vector<double> want(all.begin() + 33 * 8, all.begin() + 34 * 8);
    want.insert(want.end(), all.begin() + 69 * 8, all.begin() + 70 * 8);
    CHECK(max_abs_diff(part, want) <= 1e-6);
}

TEST_CASE("c api: error codes and messages; nothing written on failure", "[c_api]") {
    auto dir = temp_dir();
    dcodr_encoder* e = reinterpret_cast<dcodr_encoder*>(0x1);
    const std::string missing = (dir / "missing.safetensors").string();
    CHECK(dcodr_encoder_open(missing.c_str(), &e) == DCODR_ERR_IO);
    CHECK(e == nullptr);
    CHECK(std::string(dcodr_last_error()).find(missing) != std::string::npos);
    CHECK(dcodr_encoder_open(dir.string().c_str(), &e) == DCODR_ERR_IO);  // a directory
    CHECK(dcodr_encoder_open(nullptr, &e) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encoder_open(missing.c_str(), nullptr) == DCODR_ERR_INVALID_ARGUMENT);

    const std::string junk = (dir / "junk.safetensors").string();
    std::ofstream(junk) << "not a safetensors file at all";
    CHECK(dcodr_encoder_open(junk.c_str(), &e) == DCODR_ERR_FORMAT);
    CHECK(std::string(dcodr_last_error()).find(junk) != std::string::npos);

    const std::string bare = (dir / "bare.safetensors").string();  // weights without dcodr.config
    nn::save_safetensors(bare, {{"w", Tensor::zeros({2})}});
    CHECK(dcodr_encoder_open(bare.c_str(), &e) == DCODR_ERR_FORMAT);
    CHECK(std::string(dcodr_last_error()).find("dcodr.config") != std::string::npos);

    // The configuration says 9-dimensional codes, the tensors hold 8: a shape mismatch.
    TinyEncoderOptions lie;
    lie.extra_metadata["dcodr.config"] =
        "{\"depth\":18,\"width\":0.125,\"hidden\":32,\"code_dim\":9,\"head\":false,\"image_size\":32}";
    const std::string lying = tiny_file("lying.safetensors", lie);
    CHECK(dcodr_encoder_open(lying.c_str(), &e) == DCODR_ERR_FORMAT);
    CHECK(std::string(dcodr_last_error()).find("proj.weight") != std::string::npos);

    Handle h(tiny_file("errors.safetensors"));
    std::vector<std::uint8_t> px(2 * 8 * 8 * 3, 100);
    std::vector<float> codes(16, -7.0f);
    auto untouched = [&] { return std::all_of(codes.begin(), codes.end(), [](float v) { return v == -7.0f; }); };
    CHECK(dcodr_encode_u8_hwc(h.e, px.data(), 2, 8, 8, 2, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(std::string(dcodr_last_error()).find("channels") != std::string::npos);
    CHECK(dcodr_encode_u8_hwc(h.e, px.data(), 2, 0, 8, 3, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encode_u8_hwc(h.e, px.data(), 2, 8, 16385, 3, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encode_u8_hwc(h.e, px.data(), -1, 8, 8, 3, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encode_u8_hwc(h.e, nullptr, 2, 8, 8, 3, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encode_u8_hwc(h.e, px.data(), 2, 8, 8, 3, nullptr) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encode_u8_hwc(nullptr, px.data(), 2, 8, 8, 3, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(dcodr_encode_u8_hwc(h.e, px.data(), std::int64_t{1} << 60, 8, 8, 3, codes.data()) ==
          DCODR_ERR_INVALID_ARGUMENT);
    std::vector<float> fpx(2 * 3 * 8 * 8, 0.5f);
    fpx[3 * 64 + 5] = std::nanf("");
    CHECK(dcodr_encode_f32_chw(h.e, fpx.data(), 2, 3, 8, 8, codes.data()) == DCODR_ERR_INVALID_ARGUMENT);
    CHECK(std::string(dcodr_last_error()).find("image 1") != std::string::npos);
    CHECK(untouched());
    CHECK(dcodr_encode_u8_hwc(h.e, nullptr, 0, 8, 8, 3, nullptr) == DCODR_OK);  // count 0: nothing to do
    CHECK(dcodr_set_num_threads(0) == DCODR_ERR_INVALID_ARGUMENT);
    std::filesystem::remove_all(dir);
}

TEST_CASE("c api: metadata and configuration keys it does not know are ignored", "[c_api]") {
    Handle plain(tiny_file("plain.safetensors"));
    TinyEncoderOptions more;
    more.extra_metadata["dcodr.future_flag"] = "1";
    more.extra_config_json = ",\"some_later_setting\":{\"a\":[1,2]}";
    Handle extra(tiny_file("extra.safetensors", more));
    data::Dataset ds = random_images(2, 32, 32, 3, 1);
    std::vector<float> a = encode_u8(plain, ds), b = encode_u8(extra, ds);
    CHECK(a == b);
}

TEST_CASE("c api: concurrent encodes on one handle give the serial codes", "[c_api]") {
    Handle h(tiny_file("threads.safetensors"));
    std::vector<data::Dataset> inputs;
    std::vector<std::vector<float>> serial;
    for (std::uint32_t t = 0; t < 4; ++t) {
        inputs.push_back(random_images(5, 32, 32, 3, 50 + t));
        serial.push_back(encode_u8(h, inputs.back()));
    }
    std::vector<int> mismatches(4, 0), failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 3; ++rep) {
                std::vector<float> c(serial[t].size());
                const auto& ds = inputs[t];
                if (dcodr_encode_u8_hwc(h.e, ds.pixels_u8.data(), ds.count, 32, 32, 3, c.data()) != DCODR_OK)
                    ++failures[t];
                for (std::size_t i = 0; i < c.size(); ++i)
                    mismatches[t] += std::fabs(c[i] - serial[t][i]) > 1e-6f;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(failures == std::vector<int>(4, 0));
    CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("c api: float16 and bfloat16 weights against float32 (code cosine)", "[c_api]") {
    Handle f32(tiny_file("w32.safetensors"));
    TinyEncoderOptions o16, obf16;
    o16.storage = nn::FloatStorage::f16;
    obf16.storage = nn::FloatStorage::bf16;
    Handle f16(tiny_file("w16.safetensors", o16));
    Handle bf16(tiny_file("wbf16.safetensors", obf16));
    data::Dataset ds = random_images(32, 32, 32, 3, 77);
    std::vector<float> a = encode_u8(f32, ds), b = encode_u8(f16, ds), c = encode_u8(bf16, ds);
    const double cos16 = min_cosine(a, b, 8), cosbf = min_cosine(a, c, 8);
    WARN("worst code cosine vs float32 weights: F16 " << cos16 << ", BF16 " << cosbf);
    // Measured 0.99999+ (F16) and 0.9997+ (BF16) here (docs/embedding.md). A wrong conversion
    // (a swapped byte order, a dropped exponent bit, truncated subnormals in the wrong place)
    // moves codes far more; a correct one cannot change them this much.
    CHECK(cos16 > 0.9999);
    CHECK(cosbf > 0.999);
    CHECK(a != b);  // the 16-bit files really hold rounded weights
    CHECK(a != c);
}
