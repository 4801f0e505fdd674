// The packed float32 GEMM of tensor/cpu/sgemm.h against a plain float64 triple loop, over the
// operand layouts the 1x1 convolutions use: plain and transposed matrices, batches of planes
// (runs of 4, 16 and odd pixel counts, so register tiles straddle images), column ranges that
// start inside the product, depths that span several cache blocks, partial tiles, accumulation.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "tensor/cpu/sgemm.h"

using namespace dcodr::cpu;

namespace {

// An operand stored in its own buffer with a given layout; value(r, j) reads it back.
struct Stored {
    std::vector<float> data;
    Dim rows, cols;
    float value(std::int64_t r, std::int64_t j) const {
        return data[static_cast<std::size_t>(rows.offset(r) + cols.offset(j))];
    }
};

// rows x cols values at random, laid out as `kind`: "plain" (row-major), "transposed"
// (column-major), or "planes" (columns = images of `pixels` values, rows = channels: NCHW).
Stored make(const char* kind, std::int64_t rows, std::int64_t cols, std::int64_t pixels, std::mt19937& rng) {
    Stored s;
    const std::string k = kind;
    if (k == "plain") s.rows = linear(cols), s.cols = linear(1);
    else if (k == "transposed") s.rows = linear(1), s.cols = linear(rows);
    else if (k == "planes") s.rows = linear(pixels), s.cols = planes(pixels, rows * pixels);
    else if (k == "planes transposed") s.rows = planes(pixels, cols * pixels), s.cols = linear(pixels);
    std::uniform_real_distribution<float> u(-1, 1);
    s.data.resize(static_cast<std::size_t>(rows * cols));
    for (float& v : s.data) v = u(rng);
    return s;
}

struct Case {
    const char *a_kind, *b_kind, *c_kind;
    std::int64_t m, n, depth, pixels;  // pixels: run length of the planes layouts
    Columns cols;
    bool accumulate, prepacked;
};

void check(const Case& c, std::mt19937& rng) {
    // "planes" A: rows = channels, columns (the depth) = images x pixels.
    Stored a = make(c.a_kind, c.m, c.depth, c.pixels, rng);
    Stored b = make(c.b_kind, c.depth, c.n, c.pixels, rng);
    Stored out = make(c.c_kind, c.m, c.n, c.pixels, rng);
    const std::vector<float> before = out.data;
    Operand co{out.data.data(), out.rows, out.cols};
    if (c.prepacked) {
        PackedA packed(c.m, c.depth, ConstOperand{a.data.data(), a.rows, a.cols});
        sgemm(packed, c.cols, ConstOperand{b.data.data(), b.rows, b.cols}, co, c.accumulate);
    } else {
        sgemm(c.m, c.cols, c.depth, ConstOperand{a.data.data(), a.rows, a.cols},
              ConstOperand{b.data.data(), b.rows, b.cols}, co, c.accumulate);
    }
    Stored old{before, out.rows, out.cols};
    double worst = 0;
    for (std::int64_t i = 0; i < c.m; ++i)
        for (std::int64_t j = 0; j < c.n; ++j) {
            const bool in_range = j >= c.cols.begin && j < c.cols.end;
            double want = old.value(i, j);  // columns outside the range stay untouched
            if (in_range) {
                double sum = c.accumulate ? want : 0.0;
                for (std::int64_t k = 0; k < c.depth; ++k) sum += double(a.value(i, k)) * double(b.value(k, j));
                want = sum;
            }
            const double err = std::abs(out.value(i, j) - want) / (1.0 + std::abs(want));
            worst = std::max(worst, in_range ? err : (out.value(i, j) == want ? 0.0 : 1.0));
        }
    INFO(c.a_kind << " x " << c.b_kind << " -> " << c.c_kind << ", m " << c.m << " n " << c.n << " depth " << c.depth
                  << " pixels " << c.pixels << " columns [" << c.cols.begin << ", " << c.cols.end << ")"
                  << (c.accumulate ? " accumulate" : "") << (c.prepacked ? " prepacked" : ""));
    // float32 sums of `depth` products of values in [-1, 1]: a few ulps per term at most.
    REQUIRE(worst < 2e-7 * double(c.depth) + 1e-6);
}

}  // namespace

TEST_CASE("packed sgemm matches a float64 loop over every operand layout") {
    if (!has_packed_sgemm()) {
        WARN("SKIPPED: this build has no packed GEMM (x86-64-v3 or v4 only); the convolutions use Eigen");
        return;
    }
    std::mt19937 rng(42);
    const std::vector<Case> cases = {
        // Whole tiles, one depth block; then partial tiles in both directions.
        {"plain", "plain", "plain", 24, 64, 32, 1, {0, 64}, false, false},
        {"plain", "plain", "plain", 13, 37, 5, 1, {0, 37}, false, false},
        {"transposed", "transposed", "plain", 29, 70, 41, 1, {0, 70}, false, true},
        // Depth over several blocks (600 = 3 x 200, 1030 = 5 x 206); rows over several row blocks.
        {"plain", "plain", "plain", 300, 40, 600, 1, {0, 40}, false, true},
        {"transposed", "plain", "plain", 150, 33, 1030, 1, {0, 33}, true, false},
        // More columns than one column block (1024), and a range that starts inside it.
        {"plain", "plain", "plain", 12, 2100, 20, 1, {0, 2100}, false, true},
        {"plain", "plain", "plain", 20, 300, 16, 1, {48, 250}, true, true},
        // Batches of planes, as a 1x1 convolution's forward / backward-data: runs of 16
        // (direct stores), 4 (stores through the edge tile) and 7 (tiles straddle images).
        {"plain", "planes", "planes", 36, 16 * 6, 40, 16, {0, 96}, false, true},
        {"transposed", "planes", "planes", 30, 4 * 17, 50, 4, {0, 68}, false, true},
        {"plain", "planes", "planes", 25, 7 * 9, 300, 7, {14, 49}, false, true},
        {"plain", "planes", "planes", 40, 144, 19, 144, {64, 144}, true, false},
        // Row counts that end on a narrower kernel (sgemm.cpp's micro_kernel_rows): 64 = 5 x 12 + 4
        // and 8 rows stored straight from the 4- and 8-row kernels, 3 and 7 through the edge tile,
        // 64 rows over planes of 16 (direct, accumulating), 20 over planes of 4 (edge).
        {"plain", "plain", "plain", 64, 64, 40, 1, {0, 64}, false, true},
        {"transposed", "plain", "plain", 8, 96, 33, 1, {0, 96}, true, false},
        {"plain", "plain", "plain", 3, 40, 20, 1, {0, 40}, false, false},
        {"plain", "transposed", "plain", 7, 64, 70, 1, {0, 64}, true, true},
        {"plain", "planes", "planes", 64, 16 * 5, 300, 16, {0, 80}, true, true},
        {"transposed", "planes", "planes", 20, 4 * 20, 64, 4, {0, 80}, false, true},
        // <= 64 rows read B's whole 32-column panels in place (a panel of 8 at the end is
        // packed): over 3 depth blocks, and over planes of 64 pixels.
        {"plain", "plain", "plain", 40, 72, 600, 1, {0, 72}, true, true},
        {"plain", "planes", "planes", 64, 64 * 3, 130, 64, {32, 192}, false, true},
        // Backward-filter: both operands transposed planes (the depth runs over pixels).
        {"planes", "planes transposed", "plain", 40, 50, 16 * 20, 16, {0, 50}, false, false},
        {"planes", "planes transposed", "plain", 13, 35, 4 * 90, 4, {0, 35}, true, false},
        {"planes", "planes transposed", "plain", 26, 33, 9 * 31, 9, {0, 33}, false, false},
    };
    for (const Case& c : cases) check(c, rng);
}

TEST_CASE("packed sgemm with an empty depth overwrites or keeps C") {
    if (!has_packed_sgemm()) {
        WARN("SKIPPED: this build has no packed GEMM");
        return;
    }
    std::vector<float> a(1), b(1), c(6, 5.0f);
    Operand co{c.data(), linear(3), linear(1)};
    sgemm(2, Columns{0, 3}, 0, ConstOperand{a.data(), linear(1), linear(1)}, ConstOperand{b.data(), linear(3), linear(1)},
          co, true);
    REQUIRE(c == std::vector<float>(6, 5.0f));
    sgemm(2, Columns{1, 3}, 0, ConstOperand{a.data(), linear(1), linear(1)}, ConstOperand{b.data(), linear(3), linear(1)},
          co, false);
    REQUIRE(c == std::vector<float>{5, 0, 0, 5, 0, 0});
}
