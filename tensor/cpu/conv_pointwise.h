// 1x1 convolutions (no padding, one group) in float32 on the packed GEMM of sgemm.h:
// two of the three convolutions of every ResNet-50 bottleneck and its layer1 downsample, 38 %
// of the paper's training step (docs/performance.md).
//
// A 1x1 convolution is a product per image, y_b [O, P] = W [O, C] · x_b [C, P] (P pixels), and
// a batch of them is one product over the columns (image, pixel). conv.cpp's im2col path copies
// a chunk of images into a dense matrix for Eigen and the result back out; here the GEMM's
// packing reads the planes where they lie and its micro-kernel writes the output planes
// directly (sgemm.h's Dim describes the batch of planes), so no copy remains.
//
//   forward:          y  [O, cols] = W   · x  [C, cols]     (W packed once, shared by threads)
//   backward-data:    gx [C, cols] = Wᵀ  · gy [O, cols]
//   backward-filter:  gw [O, C]    = gy [O, cols] · xᵀ      (depth = cols: threads take image
//                                                            ranges, partial sums are added)
//
// Used only where has_packed_sgemm() (x86-64 with AVX2 or AVX-512); float64 and other targets
// keep conv.cpp's path.
#pragma once
#include <cstdint>

namespace dcodr::conv_pointwise {

// x [N, C, H, W] -> y [N, O, OH, OW] with w [O, C, 1, 1], strides stride_h, stride_w (no padding:
// OH = (H - 1) / stride_h + 1). A strided convolution (ResNet's downsamples) reads only every
// stride-th pixel: those are copied into a dense batch of planes first (a quarter of x at
// stride 2), and backward-data spreads its result back out with zeros between. At stride 2 on
// images of whole register tiles (conv_pointwise.cpp's packs_in_place) the GEMM reads x's
// planes and writes gx's in place instead, on AVX-512 builds.
struct Shape4 {
    std::int64_t N, C, H, W, O, OH, OW, stride_h, stride_w;
};

void forward(const float* x, const float* w, float* y, const Shape4& s);
// accumulate: gx += instead of gx = (strided: only the pixels the convolution reads change).
void backward_data(const float* gy, const float* w, float* gx, const Shape4& s, bool accumulate = false);
void backward_filter(const float* x, const float* gy, float* gw, const Shape4& s);

}  // namespace dcodr::conv_pointwise
