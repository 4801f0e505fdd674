// Winograd F(2x2, 3x3) convolution for 3x3 kernels, stride 1, no dilation, one group: the
// bulk of ResNet's 3x3 convolutions and all of DCoDR's generator's 3x3 ones.
//
// Each 2x2 block ("tile") of outputs needs a 4x4 window of the input. Winograd's minimal
// algorithm computes the tile from 16 products per (input, output) channel pair instead of the
// 36 a direct 3x3 sum needs, so the GEMMs that carry the arithmetic shrink by 2.25x:
//
//   y_tile = A^T [ (G g G^T) (.) (B^T d B) ] A        (g: 3x3 filter, d: 4x4 window, (.): elementwise)
//
// Summed over input channels, position xi of the 4x4 transformed domain is one GEMM:
// M[xi] (O x tiles) = U[xi] (O x C) * V[xi] (C x tiles), with U = G g G^T and V = B^T d B. The
// 16 GEMMs run on Eigen; the transforms are additions only (B, A have entries 0 and +-1; G has
// +-1/2), so the method is exact in real arithmetic and float64 results match the direct sum
// to rounding (the tests hold it to 1e-12).
//
// The backward passes reuse the same machinery:
// - backward-data of a 3x3/1 convolution with padding p is a 3x3/1 convolution of gy with the
//   filter rotated by 180 degrees and its channel axes swapped, padding 2 - p. Rotating g
//   permutes rows and columns 0 and 3 of G g G^T, so it needs no transform of its own.
// - backward-filter is the adjoint of the forward in g: for one tile,
//   gw += G^T [ (A e A^T) (.) (B^T d B) ] G with e the tile's 2x2 output gradient, and the sum
//   over tiles is, per xi, a GEMM  Mw[xi] (O x C) += E[xi] (O x tiles) * V[xi]^T (tiles x C).
//
// Shapes: x [N, C, H, W], w [O, C, 3, 3], y [N, O, OH, OW] with OH = H + 2 pad_h - 2 (likewise
// OW); pad_h, pad_w in [0, 2] (the backward-data rotation needs 2 - pad >= 0).
#pragma once
#include <cstdint>

namespace dcodr::conv_winograd {

struct Shape4 {
    std::int64_t N, C, H, W, O, OH, OW, pad_h, pad_w;
};

template <class T>
void forward(const T* x, const T* w, T* y, const Shape4& s);
template <class T>
void backward_data(const T* gy, const T* w, T* gx, const Shape4& s);
template <class T>
void backward_filter(const T* x, const T* gy, T* gw, const Shape4& s);

}  // namespace dcodr::conv_winograd
