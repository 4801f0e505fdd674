// Reference 2-D convolution: the definition, one multiply-add per (output, tap) pair.
//   x: [N, C, H, W], w: [O, C/G, KH, KW], y: [N, O, OH, OW], G = groups
//   y[n, o, oh, ow] = sum over c in o's group, i < KH, j < KW of
//                     x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] * w[o, c - g*C/G, i, j]
// with taps outside the image reading 0. The two backward passes are the same loop nest with
// the multiply-add pointed the other way (the adjoints in x and in w).
#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

namespace {

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad, std::int64_t dil) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// Calls f(xi, wi, yi), the flat indices into x, w and y, for every (output, tap) pair whose tap
// reads a pixel inside the image.
template <class F>
void for_each_tap(const Shape& xs, const Shape& ws, const Conv2dParams& p, F&& f) {
    const std::int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const std::int64_t O = ws[0], Cg = ws[1], KH = ws[2], KW = ws[3];
    const std::int64_t OH = out_size(H, KH, p.stride_h, p.pad_h, p.dil_h);
    const std::int64_t OW = out_size(W, KW, p.stride_w, p.pad_w, p.dil_w);
    const std::int64_t Og = O / p.groups;  // output channels per group
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t o = 0; o < O; ++o)
            for (std::int64_t oh = 0; oh < OH; ++oh)
                for (std::int64_t ow = 0; ow < OW; ++ow)
                    for (std::int64_t cg = 0; cg < Cg; ++cg) {
                        const std::int64_t c = (o / Og) * Cg + cg;  // input channel in o's group
                        for (std::int64_t i = 0; i < KH; ++i)
                            for (std::int64_t j = 0; j < KW; ++j) {
                                const std::int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
                                const std::int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;  // zero padding
                                f(((n * C + c) * H + ih) * W + iw, ((o * Cg + cg) * KH + i) * KW + j,
                                  ((n * O + o) * OH + oh) * OW + ow);
                            }
                    }
}

Shape y_shape(const Shape& xs, const Shape& ws, const Conv2dParams& p) {
    return {xs[0], ws[0], out_size(xs[2], ws[2], p.stride_h, p.pad_h, p.dil_h),
            out_size(xs[3], ws[3], p.stride_w, p.pad_w, p.dil_w)};
}

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
    const Shape ys = y_shape(x.shape(), w.shape(), p);
    const std::vector<double> vx = values(x), vw = values(w);
    std::vector<double> y(static_cast<std::size_t>(shape_numel(ys)), 0.0);
    for_each_tap(x.shape(), w.shape(), p, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
        y[yi] += vx[xi] * vw[wi];
    });
    return f64(y, ys);
}

Tensor conv2d_backward_data(const Tensor& gy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
    const std::vector<double> vg = values(gy), vw = values(w);
    std::vector<double> gx(static_cast<std::size_t>(shape_numel(x_shape)), 0.0);
    for_each_tap(x_shape, w.shape(), p, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
        gx[xi] += vw[wi] * vg[yi];
    });
    return f64(gx, x_shape);
}

Tensor conv2d_backward_filter(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p) {
    const std::vector<double> vx = values(x), vg = values(gy);
    std::vector<double> gw(static_cast<std::size_t>(shape_numel(w_shape)), 0.0);
    for_each_tap(x.shape(), w_shape, p, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
        gw[wi] += vx[xi] * vg[yi];
    });
    return f64(gw, w_shape);
}

}  // namespace dcodr::reference
