// IEEE binary16 and bfloat16 conversions (nn/float16.h) and 16-bit safetensors files: what
// dcodr convert --dtype f16|bf16 writes and every loader reads.
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "nn/float16.h"
#include "nn/safetensors.h"

using namespace dcodr;
using nn::bf16_to_float;
using nn::float_to_bf16;
using nn::float_to_half;
using nn::half_to_float;

namespace {

float bits(std::uint32_t b) { return std::bit_cast<float>(b); }
bool is_half_nan(std::uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }
bool is_bf16_nan(std::uint16_t b) { return (b & 0x7F80u) == 0x7F80u && (b & 0x7Fu) != 0; }

// Round to nearest, ties to even, computed the slow obvious way: the two neighbouring 16-bit
// values (by exact float64 comparison) and the even one on a tie. An independent reference
// for float_to_bf16 (every bf16 is a float, so its neighbours are the truncation and the next).
std::uint16_t reference_bf16(float f) {
    std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    std::uint16_t lo = static_cast<std::uint16_t>(x >> 16);  // toward zero
    std::uint16_t hi = static_cast<std::uint16_t>(lo + 1);   // away from zero (carries into the exponent)
    double v = std::fabs(static_cast<double>(f));
    double a = std::fabs(static_cast<double>(bf16_to_float(lo))), b = std::fabs(static_cast<double>(bf16_to_float(hi)));
    // Past the largest finite bf16 the next step is 2^128, as if the exponent went on (IEEE's
    // overflow rule: at or above the midpoint to it, the result is infinity).
    if ((hi & 0x7F80u) == 0x7F80u) b = std::ldexp(1.0, 128);
    if (v - a < b - v) return lo;
    if (v - a > b - v) return hi;
    return (lo & 1u) ? hi : lo;
}

}  // namespace

TEST_CASE("half -> float: exact values, subnormals, infinities, NaN, signed zero", "[float16]") {
    CHECK(half_to_float(0x3C00) == 1.0f);
    CHECK(half_to_float(0xC000) == -2.0f);
    CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));        // smallest subnormal
    CHECK(half_to_float(0x03FF) == std::ldexp(1023.0f, -24));     // largest subnormal
    CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14));        // smallest normal
    CHECK(half_to_float(0x7BFF) == 65504.0f);                     // largest finite
    CHECK(half_to_float(0x7C00) == std::numeric_limits<float>::infinity());
    CHECK(half_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(half_to_float(0x7E00)));
    CHECK(std::isnan(half_to_float(0x7C01)));  // signalling pattern: still NaN
    CHECK(std::signbit(half_to_float(0x8000)));
    CHECK(half_to_float(0x8000) == 0.0f);
}

TEST_CASE("every half and every bfloat16 survives float and back bit for bit", "[float16]") {
    int half_bad = 0, bf16_bad = 0;
    for (std::uint32_t i = 0; i < 65536; ++i) {
        auto h = static_cast<std::uint16_t>(i);
        std::uint16_t back = float_to_half(half_to_float(h));
        if (is_half_nan(h) ? !(is_half_nan(back) && (back & 0x8000u) == (h & 0x8000u)) : back != h) ++half_bad;
        std::uint16_t bback = float_to_bf16(bf16_to_float(h));
        if (is_bf16_nan(h) ? !(is_bf16_nan(bback) && (bback & 0x8000u) == (h & 0x8000u)) : bback != h) ++bf16_bad;
    }
    CHECK(half_bad == 0);
    CHECK(bf16_bad == 0);
}

TEST_CASE("float -> half rounds to nearest even, overflows to infinity, makes subnormals", "[float16]") {
    CHECK(float_to_half(1.0f) == 0x3C00);
    CHECK(float_to_half(65504.0f) == 0x7BFF);
    CHECK(float_to_half(65519.0f) == 0x7BFF);            // below the midpoint to 65536
    CHECK(float_to_half(65520.0f) == 0x7C00);            // the midpoint: ties to even = infinity
    CHECK(float_to_half(-1e9f) == 0xFC00);
    CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie between 1 and 1+2^-10: even
    CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie: up to the even one
    CHECK(float_to_half(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)) == 0x3C01);
    CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);                 // half of the smallest subnormal
    CHECK(float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);
    CHECK(float_to_half(3 * std::ldexp(1.0f, -25)) == 0x0002);             // 1.5 ulp: tie to even
    CHECK(float_to_half(std::ldexp(1023.5f, -24)) == 0x0400);              // rounds up into the normals
    CHECK(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);
    CHECK(float_to_half(1e-40f) == 0x0000);                                // float subnormal
    CHECK(float_to_half(-1e-40f) == 0x8000);
    CHECK(float_to_half(-0.0f) == 0x8000);
    CHECK(float_to_half(std::numeric_limits<float>::infinity()) == 0x7C00);
    CHECK(float_to_half(-std::numeric_limits<float>::infinity()) == 0xFC00);
    CHECK(is_half_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
    CHECK(is_half_nan(float_to_half(bits(0x7F800001))));  // a NaN whose payload sits in the dropped bits
    CHECK((float_to_half(bits(0xFFC00000)) & 0x8000u) != 0);
}

// The compiler's own IEEE half type, where it has one: ARM's __fp16 (g++ 12 defines the _Float16
// macros on aarch64 but accepts the type only in C; __fp16 converts with the same rounding), x86's
// _Float16.
#if defined(__aarch64__)
#define DCODR_COMPILER_HALF __fp16
#elif defined(__FLT16_MANT_DIG__)
#define DCODR_COMPILER_HALF _Float16
#endif

#ifdef DCODR_COMPILER_HALF
TEST_CASE("float -> half agrees with the compiler's half type on 2 million floats", "[float16]") {
    std::mt19937 rng(5);
    int bad = 0;
    std::uint32_t first_bad = 0;
    auto check = [&](std::uint32_t x) {
        float f = bits(x);
        DCODR_COMPILER_HALF h = static_cast<DCODR_COMPILER_HALF>(f);
        std::uint16_t want;
        std::memcpy(&want, &h, 2);
        std::uint16_t got = float_to_half(f);
        bool ok = std::isnan(f) ? is_half_nan(got) : got == want;
        if (!ok && bad++ == 0) first_bad = x;
    };
    for (int i = 0; i < 1000000; ++i) check(rng());
    // Concentrated where halves live: exponents 2^-26 .. 2^17, every sign.
    for (int i = 0; i < 1000000; ++i) check((rng() & 0x807FFFFFu) | ((101u + rng() % 44u) << 23));
    INFO("first mismatch: float bits 0x" << std::hex << first_bad);
    CHECK(bad == 0);
}
#endif

TEST_CASE("float -> bfloat16 rounds to nearest even, keeps NaN, overflows to infinity", "[float16]") {
    CHECK(float_to_bf16(1.0f) == 0x3F80);
    CHECK(float_to_bf16(-3.0f) == 0xC040);
    CHECK(float_to_bf16(bits(0x3F808000)) == 0x3F80);  // tie: even
    CHECK(float_to_bf16(bits(0x3F818000)) == 0x3F82);  // tie: up to even
    CHECK(float_to_bf16(bits(0x3F808001)) == 0x3F81);
    CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds past the largest bf16
    CHECK(float_to_bf16(bits(0x00008000)) == 0x0000);                    // subnormal tie: even
    CHECK(float_to_bf16(bits(0x00018000)) == 0x0002);
    CHECK(float_to_bf16(-0.0f) == 0x8000);
    CHECK(float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
    CHECK(is_bf16_nan(float_to_bf16(bits(0x7F800001))));  // payload only in the dropped bits
    CHECK(is_bf16_nan(float_to_bf16(bits(0xFFC00000))));
    std::mt19937 rng(9);
    int bad = 0;
    for (int i = 0; i < 1000000; ++i) {
        std::uint32_t x = rng();
        float f = bits(x);
        if (std::isnan(f) || std::isinf(f)) continue;
        if (float_to_bf16(f) != reference_bf16(f)) ++bad;
    }
    CHECK(bad == 0);
}

TEST_CASE("safetensors F16/BF16 files: representable values read back exactly, integers stay I64", "[float16]") {
    std::mt19937 rng(3);
    std::vector<float> hv, bv;
    for (int i = 0; i < 4096; ++i) {
        std::uint16_t h;
        do h = static_cast<std::uint16_t>(rng()); while ((h & 0x7C00u) == 0x7C00u);  // finite halves
        hv.push_back(half_to_float(h));
        std::uint16_t b;
        do b = static_cast<std::uint16_t>(rng()); while ((b & 0x7F80u) == 0x7F80u);
        bv.push_back(bf16_to_float(b));
    }
    Tensor steps = Tensor::from_vector(std::vector<std::int64_t>{7, -2}, {2});
    for (auto storage : {nn::FloatStorage::f16, nn::FloatStorage::bf16}) {
        const bool f16 = storage == nn::FloatStorage::f16;
        const auto& values = f16 ? hv : bv;
        Tensor t = Tensor::from_vector(std::vector<double>(values.begin(), values.end()), {64, 64});
        std::string bytes = nn::safetensors_bytes({{"w", t}, {"steps", steps}}, {{"k", "v"}}, storage);
        CHECK(bytes.find(f16 ? "\"dtype\":\"F16\"" : "\"dtype\":\"BF16\"") != std::string::npos);
        CHECK(bytes.find("\"dtype\":\"I64\"") != std::string::npos);
        nn::SafetensorsContent c = nn::parse_safetensors(bytes);
        REQUIRE(c.find("w"));
        std::vector<double> back = c.find("w")->to_vector();
        int differ = 0;
        for (std::size_t i = 0; i < values.size(); ++i) differ += back[i] != static_cast<double>(values[i]);
        CHECK(differ == 0);
        CHECK(c.find("steps")->to_vector() == std::vector<double>{7, -2});
        CHECK(c.metadata.at("k") == "v");
    }
}

TEST_CASE("an F16 file refuses values beyond 65504 and leaves the old file in place", "[float16]") {
    auto dir = std::filesystem::temp_directory_path() / "dcodr_test_float16";
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "w.safetensors").string();
    Tensor ok = Tensor::from_vector(std::vector<double>{1, 2}, {2});
    nn::save_safetensors(path, {{"w", ok}}, {}, nn::FloatStorage::f16);
    Tensor big = Tensor::from_vector(std::vector<double>{1, 1e5}, {2});
    try {
        nn::save_safetensors(path, {{"w", big}}, {}, nn::FloatStorage::f16);
        FAIL("saving 1e5 as F16 should fail");
    } catch (const Error& e) {
        std::string m = e.what();
        CHECK(m.find(path) != std::string::npos);
        CHECK(m.find("'w'") != std::string::npos);
        CHECK(m.find("65504") != std::string::npos);
    }
    CHECK(nn::load_safetensors(path).find("w")->to_vector() == std::vector<double>{1, 2});
    // BF16 has float32's range: 1e5 is stored (rounded).
    nn::save_safetensors(path, {{"w", big}}, {}, nn::FloatStorage::bf16);
    CHECK(nn::load_safetensors(path).find("w")->to_vector()[1] == static_cast<double>(bf16_to_float(float_to_bf16(1e5f))));
    std::filesystem::remove_all(dir);
}
