// Convolution kernels through the kernels:: front-ends: hand-computed values, the direct-loop
// reference (tensor/reference) over many named configurations, and finite-difference checks of both backward kernels.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "tensor/cpu/conv_pointwise.h"
#include "tensor/cpu/conv_winograd.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/ops.h"
#include "tensor/reference/reference.h"
#include "tests/test_util.h"

using namespace dcodr;
using dcodr::testing::numeric_grad;
using dcodr::testing::random_tensor;

namespace {

struct Ref {
    Tensor y, gx, gw;
};

// The plain loops of tensor/reference: y = conv(x, w), and for a given gy the gradients gx and gw.
Ref reference_all(const Tensor& x, const Tensor& w, const Tensor& gy, const Conv2dParams& p) {
    return {reference::conv2d_forward(x, w, p), reference::conv2d_backward_data(gy, w, x.shape(), p),
            reference::conv2d_backward_filter(x, gy, w.shape(), p)};
}

struct Case {
    const char* name;
    Shape x, w;
    Conv2dParams p;
};

Conv2dParams params(std::int64_t stride, std::int64_t pad, std::int64_t dil = 1, std::int64_t groups = 1) {
    Conv2dParams p;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = pad;
    p.dil_h = p.dil_w = dil;
    p.groups = groups;
    return p;
}

Conv2dParams winograd_pads(std::int64_t pad_h, std::int64_t pad_w) {
    Conv2dParams p;
    p.pad_h = pad_h, p.pad_w = pad_w;
    return p;
}

std::vector<Case> cases() {
    Conv2dParams rect;  // different parameters per axis
    rect.stride_h = 2, rect.stride_w = 1, rect.pad_h = 1, rect.pad_w = 2, rect.dil_h = 1, rect.dil_w = 2;
    return {
        {"3x3 same", {2, 3, 7, 7}, {4, 3, 3, 3}, params(1, 1)},
        {"3x3 stride 2", {3, 4, 9, 9}, {5, 4, 3, 3}, params(2, 1)},
        {"7x7 stride 2 pad 3", {2, 3, 11, 11}, {4, 3, 7, 7}, params(2, 3)},
        {"dilation 2", {2, 3, 9, 8}, {4, 3, 3, 3}, params(1, 2, 2)},
        {"groups 2", {2, 4, 6, 6}, {6, 2, 3, 3}, params(1, 1, 1, 2)},
        {"depthwise", {2, 4, 7, 7}, {4, 1, 3, 3}, params(2, 1, 1, 4)},
        {"depthwise multiplier 2", {2, 3, 5, 5}, {6, 1, 3, 3}, params(1, 1, 1, 3)},
        {"non-square kernel", {2, 3, 8, 9}, {4, 3, 2, 5}, params(1, 1)},
        {"per-axis params", {2, 2, 9, 7}, {3, 2, 3, 3}, rect},
        {"odd sizes, no padding", {3, 5, 5, 7}, {3, 5, 3, 3}, params(1, 0)},
        {"stride 3 > kernel", {2, 2, 10, 10}, {3, 2, 2, 2}, params(3, 0)},
        {"1x1 pointwise", {3, 6, 5, 5}, {4, 6, 1, 1}, params(1, 0)},
        {"1x1 pointwise one big image each", {3, 4, 17, 17}, {5, 4, 1, 1}, params(1, 0)},
        {"1x1 stride 2", {2, 6, 7, 7}, {4, 6, 1, 1}, params(2, 0)},
        {"1x1 padded", {2, 3, 4, 4}, {2, 3, 1, 1}, params(1, 1)},
        {"kernel = input", {2, 3, 4, 4}, {5, 3, 4, 4}, params(1, 0)},
        // Large spatial size: one image per GEMM, threads own images.
        {"big images", {3, 3, 18, 18}, {4, 3, 3, 3}, params(1, 1)},
        // Tiny spatial size: many images batched into one GEMM.
        {"tiny images", {9, 8, 2, 2}, {6, 8, 3, 3}, params(1, 1)},
        {"batch 1", {1, 3, 6, 6}, {2, 3, 3, 3}, params(1, 1)},
        // Few output channels on planes of >= 1024 pixels, stride 1: the direct loops.
        // (Small in channels and batch: the finite-difference test perturbs every input.)
        {"direct: 5x5 same, few outputs", {2, 1, 32, 33}, {3, 1, 5, 5}, params(1, 2)},
        {"direct: 7x7 same, 3 outputs", {1, 2, 32, 32}, {3, 2, 7, 7}, params(1, 3)},
        {"direct: valid, non-square kernel", {1, 1, 36, 37}, {8, 1, 2, 5}, params(1, 0)},
        {"direct: padding wider than the kernel reach", {1, 1, 32, 31}, {1, 1, 3, 3}, params(1, 3)},
        // 11 taps per kernel row: backward-filter takes them in blocks of 8 + 3 (2 outputs).
        {"direct: 11x11, taps in two blocks", {1, 1, 32, 32}, {2, 1, 11, 11}, params(1, 5)},
        // 11 input planes: backward-data builds them in register blocks of 8 + 3; 5 outputs.
        // 12 outputs: direct forward / backward-data (blocks 8 + 4), im2col backward-filter.
        {"direct: 5x5, 12 outputs", {1, 3, 32, 32}, {12, 3, 5, 5}, params(1, 2)},
        {"direct: blocks of planes, rows not a lane multiple", {2, 11, 33, 37}, {5, 11, 3, 3}, winograd_pads(1, 2)},
        // 3x3 stride 1 with >= 16 channels each side: Winograd F(2x2, 3x3) (conv_winograd.h).
        {"winograd: 3x3 same", {2, 16, 5, 6}, {16, 16, 3, 3}, params(1, 1)},
        {"winograd: odd output, no padding", {1, 16, 7, 5}, {17, 16, 3, 3}, params(1, 0)},
        {"winograd: padding 2", {1, 17, 4, 3}, {16, 17, 3, 3}, params(1, 2)},
        {"winograd: per-axis padding", {1, 16, 5, 4}, {16, 16, 3, 3}, winograd_pads(2, 0)},
        {"winograd: 1x1 plane", {3, 16, 1, 1}, {20, 16, 3, 3}, params(1, 1)},
    };
}

// The three passes of c in float32, through whatever path the dispatch picks, against the
// float64 reference: atol for forward and backward-data, filter_atol for backward-filter (sums
// over every pixel of the batch). Random inputs from seeds seed, seed + 1, seed + 2.
void require_float32_matches_reference(const Case& c, std::uint64_t seed, double atol, double filter_atol) {
    Tensor x = random_tensor(c.x, seed), w = random_tensor(c.w, seed + 1);
    Tensor ref_y = reference::conv2d_forward(x, w, c.p);
    Tensor gy = random_tensor(ref_y.shape(), seed + 2);
    Tensor xf = x.to(DType::f32), wf = w.to(DType::f32), gyf = gy.to(DType::f32);
    REQUIRE_CLOSE(kernels::conv2d_forward(xf, wf, c.p).to(DType::f64), ref_y, atol, 1e-5);
    REQUIRE_CLOSE(kernels::conv2d_backward_data(gyf, wf, c.x, c.p).to(DType::f64),
                  reference::conv2d_backward_data(gy, w, c.x, c.p), atol, 1e-5);
    REQUIRE_CLOSE(kernels::conv2d_backward_filter(xf, gyf, c.w, c.p).to(DType::f64),
                  reference::conv2d_backward_filter(x, gy, c.w, c.p), filter_atol, 1e-5);
}

}  // namespace

TEST_CASE("conv2d forward matches hand-computed values") {
    Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::f64);
    Tensor w = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64);
    // y[0,0] = 1·1 + 2·2 + 4·3 + 5·4, and so on.
    Tensor y = kernels::conv2d_forward(x, w, params(1, 0));
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    REQUIRE(y.to_vector() == std::vector<double>{37, 47, 67, 77});
    // Padding 1, stride 2: the corners see one, two or four taps of w.
    Tensor yp = kernels::conv2d_forward(x, w, params(2, 1));
    REQUIRE(yp.to_vector() == std::vector<double>{1 * 4, 2 * 3 + 3 * 4, 4 * 2 + 7 * 4, 77});
    // Two groups: each output channel only sees its own input channel.
    Tensor x2 = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 10, 20, 30, 40}, {1, 2, 2, 2}, DType::f64);
    Tensor w2 = Tensor::from_vector(std::vector<double>{1, 1, 1, 1, 1, 0, 0, 1}, {2, 1, 2, 2}, DType::f64);
    Conv2dParams g2 = params(1, 0, 1, 2);
    REQUIRE(kernels::conv2d_forward(x2, w2, g2).to_vector() == std::vector<double>{10, 50});
}

TEST_CASE("conv2d backward kernels match hand-computed values") {
    Tensor w = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64);
    Tensor gy = Tensor::ones({1, 1, 2, 2}, DType::f64);
    // Each input pixel collects the weights of the taps that read it.
    Tensor gx = kernels::conv2d_backward_data(gy, w, {1, 1, 3, 3}, params(1, 0));
    REQUIRE(gx.to_vector() == std::vector<double>{1, 3, 2, 4, 10, 6, 3, 7, 4});
    Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::f64);
    // gw[i,j] = sum of the 2x2 block of x starting at (i, j).
    Tensor gw = kernels::conv2d_backward_filter(x, gy, {1, 1, 2, 2}, params(1, 0));
    REQUIRE(gw.to_vector() == std::vector<double>{12, 16, 24, 28});
}

TEST_CASE("conv2d kernels match a direct-loop reference") {
    std::uint64_t seed = 1;
    for (const Case& c : cases()) {
        INFO(c.name);
        Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++);
        Tensor y = kernels::conv2d_forward(x, w, c.p);
        Tensor gy = random_tensor(y.shape(), seed++);
        Ref ref = reference_all(x, w, gy, c.p);
        REQUIRE_CLOSE(y, ref.y, 1e-12, 1e-12);
        REQUIRE_CLOSE(kernels::conv2d_backward_data(gy, w, c.x, c.p), ref.gx, 1e-12, 1e-12);
        REQUIRE_CLOSE(kernels::conv2d_backward_filter(x, gy, c.w, c.p), ref.gw, 1e-12, 1e-12);
    }
}

TEST_CASE("conv2d float32 agrees with float64, on one thread and on two") {
    int saved = num_threads();
    std::uint64_t seed = 100;
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        for (const Case& c : cases()) {
            INFO(c.name << ", threads " << threads);
            Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++);
            Tensor y = kernels::conv2d_forward(x, w, c.p);
            Tensor gy = random_tensor(y.shape(), seed++);
            Tensor xf = x.to(DType::f32), wf = w.to(DType::f32), gyf = gy.to(DType::f32);
            REQUIRE_CLOSE(kernels::conv2d_forward(xf, wf, c.p).to(DType::f64), y, 1e-5, 1e-5);
            REQUIRE_CLOSE(kernels::conv2d_backward_data(gyf, wf, c.x, c.p).to(DType::f64),
                          kernels::conv2d_backward_data(gy, w, c.x, c.p), 1e-5, 1e-5);
            REQUIRE_CLOSE(kernels::conv2d_backward_filter(xf, gyf, c.w, c.p).to(DType::f64),
                          kernels::conv2d_backward_filter(x, gy, c.w, c.p), 1e-4, 1e-5);
        }
    }
    set_num_threads(saved);
}

TEST_CASE("conv2d on ResNet-sized batches matches the reference") {
    // Enough images for the per-thread split and for multi-image GEMM chunks.
    struct Big {
        Shape x, w;
        Conv2dParams p;
    };
    for (const Big& c : {Big{{16, 8, 16, 16}, {8, 8, 3, 3}, params(1, 1)},
                         Big{{12, 8, 8, 8}, {16, 8, 3, 3}, params(2, 1)},
                         Big{{140, 4, 2, 2}, {4, 4, 3, 3}, params(1, 1)},
                         Big{{10, 16, 4, 4}, {8, 16, 1, 1}, params(1, 0)},
                         // Pointwise planes of 4 and 64 values: conv.cpp's fixed-length copies.
                         Big{{40, 8, 2, 2}, {6, 8, 1, 1}, params(1, 0)},
                         Big{{12, 4, 8, 8}, {5, 4, 1, 1}, params(1, 0)},
                         // Winograd: 7x7 tiles per image, 36 tile rows per chunk, so chunks
                         // start and end inside images; and a 64x64 plane split over chunks.
                         Big{{12, 16, 14, 14}, {24, 16, 3, 3}, params(1, 1)},
                         Big{{1, 24, 64, 64}, {24, 24, 3, 3}, params(1, 1)},
                         // 16 -> 16 on 32x32: the direct loops (thin Winograd GEMMs lose
                         // there); backward-filter reads gy's 32-wide rows in place.
                         Big{{2, 16, 32, 32}, {16, 16, 3, 3}, params(1, 1)},
                         // 16 -> 17: direct 3x3 backward-filter in pairs of outputs and a last one.
                         Big{{2, 16, 32, 32}, {17, 16, 3, 3}, params(1, 1)},
                         // Direct forward writing 27 planes (register blocks of 16 + 8 + 3) and
                         // backward-data writing 19 (16 + 3).
                         Big{{2, 19, 32, 32}, {27, 19, 5, 5}, params(1, 2)},
                         // 7x7/2 on 40x40 (20x20 outputs, no tap table): col2im's stride-2 rows
                         // in vectors of 16 where the row has room, the rest one by one.
                         Big{{2, 3, 40, 40}, {4, 3, 7, 7}, params(2, 3)},
                         // Stride 2 on small planes (tap tables): im2col through a padded plane,
                         // rows of 8 and 16 (vector shuffles), 17 (one by one), a 2x2 kernel
                         // without padding.
                         Big{{3, 5, 16, 16}, {6, 5, 3, 3}, params(2, 1)},
                         Big{{2, 4, 32, 32}, {5, 4, 3, 3}, params(2, 1)},
                         Big{{2, 3, 17, 33}, {4, 3, 3, 3}, params(2, 1)},
                         Big{{2, 3, 16, 16}, {4, 3, 2, 2}, params(2, 0)},
                         // Stride 2 on 3 and 2 input planes with >= 1,024 outputs per plane:
                         // forward over the four phase images (the stem's 7x7/2; a 4x3 kernel
                         // with padding 1 / 2 and odd sizes).
                         Big{{2, 3, 64, 64}, {8, 3, 7, 7}, params(2, 3)},
                         Big{{1, 2, 67, 66}, {5, 2, 4, 3}, [] {
                                 Conv2dParams p = winograd_pads(1, 2);
                                 p.stride_h = p.stride_w = 2;
                                 return p;
                             }()},
                         // A col of 1,600 x 1,280 values: backward-filter in blocks of 16
                         // output rows (the last band 8) by 20 input channels (the last group
                         // 4), accumulated into gw's column slices.
                         Big{{2, 64, 40, 32}, {9, 64, 5, 5}, params(1, 2)},
                         // Direct backward-filter over 3 blocks of one image (gy of 8 64x64
                         // float64 planes per image, past half the block's bytes).
                         Big{{3, 2, 64, 64}, {8, 2, 3, 3}, params(1, 1)}}) {
        INFO(shape_str(c.x) << " * " << shape_str(c.w));
        Tensor x = random_tensor(c.x, 7), w = random_tensor(c.w, 8);
        Tensor y = kernels::conv2d_forward(x, w, c.p);
        Tensor gy = random_tensor(y.shape(), 9);
        Ref ref = reference_all(x, w, gy, c.p);
        REQUIRE_CLOSE(y, ref.y, 1e-12, 1e-12);
        REQUIRE_CLOSE(kernels::conv2d_backward_data(gy, w, c.x, c.p), ref.gx, 1e-12, 1e-12);
        REQUIRE_CLOSE(kernels::conv2d_backward_filter(x, gy, c.w, c.p), ref.gw, 1e-11, 1e-12);
    }
}

// Backward-filter with the threads splitting the input channels (few pixels per weight:
// conv.cpp's split_filter_channels): uneven slices (10 channels on 3 threads), several GEMM
// chunks of images (70 images of 2x2 outputs), a large plane without a tap table, per-axis
// parameters. The same shapes on one thread take the image-split path.
TEST_CASE("conv2d backward-filter split over input channels matches the reference") {
    Conv2dParams rect;
    rect.stride_h = 2, rect.stride_w = 1, rect.pad_h = 1, rect.pad_w = 2, rect.dil_h = 1, rect.dil_w = 2;
    int saved = num_threads();
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        for (const Case& c : {Case{"3x3/2 on 4x4, 70 images", {70, 10, 4, 4}, {6, 10, 3, 3}, params(2, 1)},
                              Case{"5x5/2 on 40x40", {2, 16, 40, 40}, {4, 16, 5, 5}, params(2, 2)},
                              Case{"per-axis params", {9, 12, 7, 5}, {5, 12, 3, 2}, rect}}) {
            INFO(c.name << ", threads " << threads);
            // Fresh values per thread count: gw may reuse the block of the previous run's result,
            // whose stale values must not pass for columns a thread failed to write.
            const std::uint64_t seed = 31 + 2 * static_cast<std::uint64_t>(threads);
            Tensor x = random_tensor(c.x, seed);
            Tensor gy = random_tensor(reference::conv2d_forward(x, random_tensor(c.w, 0), c.p).shape(), seed + 1);
            REQUIRE_CLOSE(kernels::conv2d_backward_filter(x, gy, c.w, c.p),
                          reference::conv2d_backward_filter(x, gy, c.w, c.p), 1e-11, 1e-12);
        }
    }
    set_num_threads(saved);
}

TEST_CASE("conv2d backward kernels match finite differences") {
    std::uint64_t seed = 500;
    for (const Case& c : cases()) {
        if (shape_numel(c.x) > 2000) continue;  // keep the O(n²) check fast
        INFO(c.name);
        Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++);
        Tensor r = random_tensor(kernels::conv2d_forward(x, w, c.p).shape(), seed++);
        Tensor gx = kernels::conv2d_backward_data(r, w, c.x, c.p);
        Tensor gw = kernels::conv2d_backward_filter(x, r, c.w, c.p);
        Tensor nx = numeric_grad(x, r, [&] { return kernels::conv2d_forward(x, w, c.p); });
        Tensor nw = numeric_grad(w, r, [&] { return kernels::conv2d_forward(x, w, c.p); });
        REQUIRE_CLOSE(gx, nx, 1e-6, 1e-6);
        REQUIRE_CLOSE(gw, nw, 1e-6, 1e-6);
    }
}

TEST_CASE("conv2d handles an empty batch") {
    Tensor x = Tensor::zeros({0, 3, 5, 5}, DType::f64), w = random_tensor({2, 3, 3, 3}, 1);
    Tensor y = kernels::conv2d_forward(x, w, params(1, 1));
    REQUIRE(y.shape() == Shape{0, 2, 5, 5});
    Tensor gw = kernels::conv2d_backward_filter(x, y, w.shape(), params(1, 1));
    REQUIRE(gw.to_vector() == std::vector<double>(54, 0.0));
}

// The Winograd kernels called directly, below the channel counts the dispatch sends them
// (so they are checked whatever conv.cpp decides), against the direct-loop reference.
TEST_CASE("Winograd F(2x2, 3x3) kernels match the reference at any channel count") {
    struct W {
        Shape x;
        std::int64_t out, pad_h, pad_w;
    };
    int saved = num_threads();
    std::uint64_t seed = 900;
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        for (const W& c : {W{{1, 1, 3, 3}, 1, 0, 0}, W{{2, 3, 6, 7}, 2, 1, 1}, W{{3, 2, 5, 5}, 5, 2, 2},
                           W{{2, 4, 9, 4}, 3, 0, 2}, W{{5, 3, 2, 2}, 4, 1, 1}, W{{2, 2, 33, 40}, 3, 1, 0}}) {
            INFO(shape_str(c.x) << " -> " << c.out << " channels, pad " << c.pad_h << "/" << c.pad_w << ", threads "
                                << threads);
            Conv2dParams p = winograd_pads(c.pad_h, c.pad_w);
            Tensor x = random_tensor(c.x, seed++), w = random_tensor({c.out, c.x[1], 3, 3}, seed++);
            Tensor ref_y = reference::conv2d_forward(x, w, p);
            Tensor gy = random_tensor(ref_y.shape(), seed++);
            conv_winograd::Shape4 s{c.x[0], c.x[1], c.x[2], c.x[3], c.out, ref_y.size(2), ref_y.size(3), c.pad_h,
                                    c.pad_w};
            Tensor y = Tensor::full(ref_y.shape(), 7.0, DType::f64);  // every output must be written
            Tensor gx = Tensor::full(c.x, 7.0, DType::f64), gw = Tensor::full(w.shape(), 7.0, DType::f64);
            conv_winograd::forward(x.data<double>(), w.data<double>(), y.data<double>(), s);
            conv_winograd::backward_data(gy.data<double>(), w.data<double>(), gx.data<double>(), s);
            conv_winograd::backward_filter(x.data<double>(), gy.data<double>(), gw.data<double>(), s);
            REQUIRE_CLOSE(y, ref_y, 1e-12, 1e-12);
            REQUIRE_CLOSE(gx, reference::conv2d_backward_data(gy, w, c.x, p), 1e-12, 1e-12);
            REQUIRE_CLOSE(gw, reference::conv2d_backward_filter(x, gy, w.shape(), p), 1e-12, 1e-12);
        }
    }
    set_num_threads(saved);
}

// The packed-GEMM 1x1 kernels (conv_pointwise.h), float32, called directly and through the
// dispatch, against the float64 reference: planes of 4 and 16 pixels (stores through the edge
// tile and straight from the micro-kernel), odd planes (tiles straddle images), one image split
// across threads, pieces that cross images, strides 2 and (3, 2) (x subsampled, or read in place),
// depths over several cache blocks, 1-3 threads.
TEST_CASE("packed 1x1 convolutions match the float64 reference") {
    if (!cpu::has_packed_sgemm()) {
        WARN("SKIPPED: this build has no packed GEMM (x86-64-v3 or v4 only); 1x1 convolutions use im2col");
        return;
    }
    struct P {
        Shape x;
        std::int64_t out, stride_h, stride_w;
    };
    int saved = num_threads();
    std::uint64_t seed = 1300;
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        for (const P& c : {P{{2, 128, 4, 4}, 160, 1, 1}, P{{3, 136, 2, 2}, 128, 1, 1}, P{{1, 130, 12, 12}, 140, 1, 1},
                           P{{5, 20, 7, 7}, 130, 1, 1}, P{{2, 600, 4, 4}, 130, 1, 1}, P{{2, 130, 4, 4}, 600, 1, 1},
                           P{{160, 128, 4, 4}, 128, 1, 1}, P{{6, 128, 8, 8}, 256, 2, 2}, P{{4, 129, 9, 9}, 131, 3, 2},
                           // 2 images on 3 threads: pieces of 32 columns that cross from one image into the next.
                           P{{2, 128, 7, 7}, 144, 1, 1},
                           // 64 GEMM rows, which the dispatch's forward (64 outputs) and backward-data
                           // (64 inputs, stride 1 and 2) take to the packed path: a 4-row last tile.
                           P{{3, 256, 4, 4}, 64, 1, 1}, P{{4, 64, 8, 8}, 256, 1, 1}, P{{4, 64, 8, 8}, 40, 2, 2},
                           // 19 columns per output row: the stride-2 spread and subsample in vectors of 16.
                           P{{2, 64, 38, 38}, 24, 2, 2},
                           // Stride 2 on images of whole register tiles: forward and backward-filter
                           // read x in place (rows of 8 and 16 outputs, an odd input width, 40
                           // channels: part of a 16-column transpose, one image on 2-3 threads).
                           P{{3, 64, 16, 16}, 40, 2, 2}, P{{2, 40, 16, 31}, 20, 2, 2}, P{{1, 24, 32, 16}, 130, 2, 2},
                           // ... and backward-data stores into gx's planes, zeros included; 300
                           // outputs: its depth in two blocks, the second adding to the first.
                           P{{2, 20, 16, 16}, 300, 2, 2},
                           // Stride 2 onto planes of 4 columns (and 8, above): 4 values per 16 of gx.
                           P{{3, 16, 4, 4}, 24, 2, 2}}) {
            INFO(shape_str(c.x) << " -> " << c.out << " channels, stride " << c.stride_h << "x" << c.stride_w
                                << ", threads " << threads);
            Conv2dParams p;
            p.stride_h = c.stride_h, p.stride_w = c.stride_w;
            Tensor x = random_tensor(c.x, seed++), w = random_tensor({c.out, c.x[1], 1, 1}, seed++);
            Tensor ref_y = reference::conv2d_forward(x, w, p);
            Tensor gy = random_tensor(ref_y.shape(), seed++);
            Tensor ref_gx = reference::conv2d_backward_data(gy, w, c.x, p);
            Tensor ref_gw = reference::conv2d_backward_filter(x, gy, w.shape(), p);
            Tensor xf = x.to(DType::f32), wf = w.to(DType::f32), gyf = gy.to(DType::f32);
            conv_pointwise::Shape4 s{c.x[0], c.x[1], c.x[2], c.x[3], c.out, ref_y.size(2), ref_y.size(3),
                                     c.stride_h, c.stride_w};
            Tensor y = Tensor::full(ref_y.shape(), 7.0, DType::f32);  // every output must be written
            Tensor gx = Tensor::full(c.x, 7.0, DType::f32), gw = Tensor::full(w.shape(), 7.0, DType::f32);
            conv_pointwise::forward(xf.data<float>(), wf.data<float>(), y.data<float>(), s);
            conv_pointwise::backward_data(gyf.data<float>(), wf.data<float>(), gx.data<float>(), s);
            conv_pointwise::backward_filter(xf.data<float>(), gyf.data<float>(), gw.data<float>(), s);
            // float32 sums over 20-600 channels (forward, backward-data) or N·P pixels
            // (backward-filter) of products in [-1, 1].
            REQUIRE_CLOSE(y.to(DType::f64), ref_y, 2e-5, 1e-5);
            REQUIRE_CLOSE(gx.to(DType::f64), ref_gx, 2e-5, 1e-5);
            REQUIRE_CLOSE(gw.to(DType::f64), ref_gw, 1e-4, 1e-5);
            // Through the dispatch (which takes the packed path for most of these shapes).
            REQUIRE_CLOSE(kernels::conv2d_forward(xf, wf, p).to(DType::f64), ref_y, 2e-5, 1e-5);
            REQUIRE_CLOSE(kernels::conv2d_backward_data(gyf, wf, c.x, p).to(DType::f64), ref_gx, 2e-5, 1e-5);
            REQUIRE_CLOSE(kernels::conv2d_backward_filter(xf, gyf, w.shape(), p).to(DType::f64), ref_gw, 1e-4, 1e-5);
        }
    }
    set_num_threads(saved);
}

// gx += backward-data in place: on the packed 1x1 path (float32, >= 64 input channels, stride 1
// and 2: its GEMM accumulates, the strided one adds only at the pixels read) and through the
// default (float64, a 3x3), against the existing values plus the reference.
TEST_CASE("conv2d backward-data adds into an existing gradient") {
    struct A {
        Shape x, w;
        Conv2dParams p;
    };
    std::uint64_t seed = 1500;
    for (const A& c : {A{{3, 128, 6, 6}, {40, 128, 1, 1}, params(1, 0)}, A{{2, 130, 7, 7}, {24, 130, 1, 1}, params(2, 0)},
                       A{{2, 5, 6, 6}, {4, 5, 3, 3}, params(1, 1)},
                       // 64 input channels, stride 1: the 4-row last tile adds.
                       A{{2, 64, 4, 4}, {32, 64, 1, 1}, params(1, 0)},
                       // 64 input channels, stride 2, 19 output columns: the vector spread adds.
                       A{{1, 64, 38, 38}, {16, 64, 1, 1}, params(2, 0)},
                       // Stride 2 onto planes of 4 and 8 columns: the masked spread adds.
                       A{{2, 64, 4, 4}, {24, 64, 1, 1}, params(2, 0)}, A{{1, 64, 8, 8}, {24, 64, 1, 1}, params(2, 0)}}) {
        for (DType dt : {DType::f32, DType::f64}) {
            INFO(shape_str(c.x) << " * " << shape_str(c.w) << (dt == DType::f32 ? " float32" : " float64"));
            Tensor w = random_tensor(c.w, seed++), existing = random_tensor(c.x, seed++);
            Tensor gy = random_tensor(reference::conv2d_forward(existing, w, c.p).shape(), seed++);
            Tensor want = kernels::binary(BinaryOp::add, existing, reference::conv2d_backward_data(gy, w, c.x, c.p));
            Tensor gx = existing.to(dt);
            kernels::conv2d_backward_data_add(gy.to(dt), w.to(dt), gx, c.p);
            REQUIRE_CLOSE(gx.to(DType::f64), want, dt == DType::f32 ? 2e-5 : 1e-12, 1e-5);
        }
    }
}

// The im2col path's GEMM on the packed float32 GEMM (threads owning images, >= 128 GEMM rows):
// forward writes y's planes in place (planes of 32, 64 and 256 outputs here), backward-data
// reads gy's (planes of 25, 100 and 256). Strided, padded, 7x7 and non-square kernels; planes
// that use the tap table and one (324 inputs, 256 outputs) that copies whole rows.
TEST_CASE("im2col convolutions on the packed GEMM match the float64 reference") {
    if (!cpu::has_packed_sgemm()) {
        WARN("SKIPPED: this build has no packed GEMM (x86-64-v3 or v4 only)");
        return;
    }
    int saved = num_threads();
    std::uint64_t seed = 1700;
    for (int threads : {2, 3}) {
        set_num_threads(threads);
        for (const Case& c : {Case{"3x3/2", {4, 16, 9, 9}, {128, 16, 3, 3}, params(2, 1)},
                              Case{"3x3/1, 8 channels (no Winograd)", {6, 8, 8, 8}, {130, 8, 3, 3}, params(1, 1)},
                              Case{"7x7/2 stem", {4, 3, 20, 20}, {128, 3, 7, 7}, params(2, 3)},
                              Case{"non-square, per-axis", {5, 16, 7, 6}, {140, 16, 2, 3}, winograd_pads(1, 0)},
                              Case{"large plane", {2, 16, 18, 18}, {129, 16, 3, 3}, params(1, 0)}}) {
            INFO(c.name << ", threads " << threads);
            require_float32_matches_reference(c, seed, 2e-5, 1e-4);
            seed += 3;
        }
    }
    set_num_threads(saved);
}

// Winograd's 16 GEMMs per chunk on the packed float32 GEMM (products of >= 128 rows and >= 32
// columns: 256 tiles per chunk here, 130 and 32 channels), against the float64 reference.
TEST_CASE("Winograd on the packed GEMM matches the float64 reference") {
    if (!cpu::has_packed_sgemm()) {
        WARN("SKIPPED: this build has no packed GEMM (x86-64-v3 or v4 only)");
        return;
    }
    int saved = num_threads();
    std::uint64_t seed = 1900;
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        for (const Case& c : {Case{"3x3 same", {8, 32, 16, 16}, {130, 32, 3, 3}, params(1, 1)},
                              Case{"padding 0 / 2, odd plane", {6, 40, 15, 17}, {128, 40, 3, 3}, winograd_pads(0, 2)}}) {
            INFO(c.name << ", threads " << threads);
            // Winograd's transforms add float32 rounding of their own (sums of up to 9 inputs).
            require_float32_matches_reference(c, seed, 1e-4, 1e-3);
            seed += 3;
        }
    }
    set_num_threads(saved);
}
