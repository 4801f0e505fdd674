// Reference pooling and nearest upsampling, PyTorch's definitions (floor mode).
//   x: [N, C, H, W] -> y: [N, C, OH, OW], each (n, c) plane on its own
//   OH = (H + 2*ph - KH) / sh + 1 (likewise OW) for max and average pooling.
// Output (oh, ow)'s window covers input rows oh*sh - ph + [0, KH) and columns ow*sw - pw + [0, KW).
#include <cmath>
#include <limits>

#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

namespace {

struct Geom {
    std::int64_t planes, H, W, OH, OW;
};

Geom pool_geom(const Shape& xs, const Pool2dParams& p) {
    return {xs[0] * xs[1], xs[2], xs[3], (xs[2] + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1,
            (xs[3] + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1};
}

// Calls f(h, w) for every in-image pixel of output (oh, ow)'s window, and returns the count
// PyTorch divides an average by: with count_include_pad, the window's cells up to the padded
// border (a window may hang over the padding but not past it); otherwise the in-image pixels.
template <class F>
std::int64_t for_window(const Pool2dParams& p, const Geom& g, std::int64_t oh, std::int64_t ow, F&& f) {
    std::int64_t inside = 0, padded = 0;
    for (std::int64_t i = 0; i < p.kernel_h; ++i)
        for (std::int64_t j = 0; j < p.kernel_w; ++j) {
            const std::int64_t h = oh * p.stride_h - p.pad_h + i, w = ow * p.stride_w - p.pad_w + j;
            if (h >= g.H + p.pad_h || w >= g.W + p.pad_w) continue;  // past the padding
            ++padded;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;  // in the padding
            ++inside;
            f(h, w);
        }
    return p.count_include_pad ? padded : inside;
}

// Adaptive bin i of `out` over `in` cells: [floor(i*in/out), ceil((i+1)*in/out)).
std::int64_t bin_start(std::int64_t i, std::int64_t in, std::int64_t out) { return i * in / out; }
std::int64_t bin_end(std::int64_t i, std::int64_t in, std::int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x, const Pool2dParams& p) {
    const Geom g = pool_geom(x.shape(), p);
    const std::vector<double> vx = values(x);
    std::vector<double> y;
    std::vector<std::int64_t> idx;
    for (std::int64_t pl = 0; pl < g.planes; ++pl)
        for (std::int64_t oh = 0; oh < g.OH; ++oh)
            for (std::int64_t ow = 0; ow < g.OW; ++ow) {
                // The first maximum wins ties; a NaN wins over everything, the last NaN over
                // earlier ones (PyTorch's `val > maxval || isnan(val)`).
                double best = -std::numeric_limits<double>::infinity();
                std::int64_t at = -1;
                for_window(p, g, oh, ow, [&](std::int64_t h, std::int64_t w) {
                    const double v = vx[(pl * g.H + h) * g.W + w];
                    if (at < 0 || v > best || std::isnan(v)) best = v, at = h * g.W + w;
                });
                y.push_back(best);
                idx.push_back(at);
            }
    const Shape ys{x.size(0), x.size(1), g.OH, g.OW};
    return {f64(y, ys), Tensor::from_vector(idx, ys)};
}

Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    const std::vector<double> vg = values(gy);
    const std::vector<std::int64_t> vi = int_values(indices);
    const std::int64_t in_plane = x_shape[2] * x_shape[3], out_plane = gy.size(2) * gy.size(3);
    std::vector<double> gx(static_cast<std::size_t>(shape_numel(x_shape)), 0.0);
    for (std::int64_t o = 0; o < gy.numel(); ++o) gx[(o / out_plane) * in_plane + vi[o]] += vg[o];
    return f64(gx, x_shape);
}

Tensor avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) {
    const Geom g = pool_geom(x.shape(), p);
    const std::vector<double> vx = values(x);
    std::vector<double> y;
    for (std::int64_t pl = 0; pl < g.planes; ++pl)
        for (std::int64_t oh = 0; oh < g.OH; ++oh)
            for (std::int64_t ow = 0; ow < g.OW; ++ow) {
                double s = 0;
                const std::int64_t divisor = for_window(p, g, oh, ow, [&](std::int64_t h, std::int64_t w) {
                    s += vx[(pl * g.H + h) * g.W + w];
                });
                y.push_back(s / static_cast<double>(divisor));
            }
    return f64(y, {x.size(0), x.size(1), g.OH, g.OW});
}

Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const Pool2dParams& p) {
    const Geom g = pool_geom(x_shape, p);
    const std::vector<double> vg = values(gy);
    std::vector<double> gx(static_cast<std::size_t>(shape_numel(x_shape)), 0.0);
    for (std::int64_t pl = 0; pl < g.planes; ++pl)
        for (std::int64_t oh = 0; oh < g.OH; ++oh)
            for (std::int64_t ow = 0; ow < g.OW; ++ow) {
                // Count the divisor first, then hand each pixel its share.
                const std::int64_t divisor = for_window(p, g, oh, ow, [](std::int64_t, std::int64_t) {});
                const double share = vg[(pl * g.OH + oh) * g.OW + ow] / static_cast<double>(divisor);
                for_window(p, g, oh, ow, [&](std::int64_t h, std::int64_t w) {
                    gx[(pl * g.H + h) * g.W + w] += share;
                });
            }
    return f64(gx, x_shape);
}

Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t out_h, std::int64_t out_w) {
    const std::int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
    const std::vector<double> vx = values(x);
    std::vector<double> y;
    for (std::int64_t pl = 0; pl < planes; ++pl)
        for (std::int64_t oh = 0; oh < out_h; ++oh)
            for (std::int64_t ow = 0; ow < out_w; ++ow) {
                const std::int64_t h0 = bin_start(oh, H, out_h), h1 = bin_end(oh, H, out_h);
                const std::int64_t w0 = bin_start(ow, W, out_w), w1 = bin_end(ow, W, out_w);
                double s = 0;
                for (std::int64_t h = h0; h < h1; ++h)
                    for (std::int64_t w = w0; w < w1; ++w) s += vx[(pl * H + h) * W + w];
                y.push_back(s / static_cast<double>((h1 - h0) * (w1 - w0)));
            }
    return f64(y, {x.size(0), x.size(1), out_h, out_w});
}

Tensor adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape) {
    const std::int64_t planes = x_shape[0] * x_shape[1], H = x_shape[2], W = x_shape[3];
    const std::int64_t OH = gy.size(2), OW = gy.size(3);
    const std::vector<double> vg = values(gy);
    std::vector<double> gx(static_cast<std::size_t>(shape_numel(x_shape)), 0.0);
    for (std::int64_t pl = 0; pl < planes; ++pl)
        for (std::int64_t oh = 0; oh < OH; ++oh)
            for (std::int64_t ow = 0; ow < OW; ++ow) {
                const std::int64_t h0 = bin_start(oh, H, OH), h1 = bin_end(oh, H, OH);
                const std::int64_t w0 = bin_start(ow, W, OW), w1 = bin_end(ow, W, OW);
                const double share = vg[(pl * OH + oh) * OW + ow] / static_cast<double>((h1 - h0) * (w1 - w0));
                for (std::int64_t h = h0; h < h1; ++h)
                    for (std::int64_t w = w0; w < w1; ++w) gx[(pl * H + h) * W + w] += share;
            }
    return f64(gx, x_shape);
}

// y[n, c, h, w] = x[n, c, h / s, w / s]: every pixel becomes an s x s block.
Tensor upsample_nearest2d_forward(const Tensor& x, std::int64_t s) {
    const std::int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
    const std::vector<double> vx = values(x);
    std::vector<double> y;
    for (std::int64_t pl = 0; pl < planes; ++pl)
        for (std::int64_t h = 0; h < H * s; ++h)
            for (std::int64_t w = 0; w < W * s; ++w) y.push_back(vx[(pl * H + h / s) * W + w / s]);
    return f64(y, {x.size(0), x.size(1), H * s, W * s});
}

// gx: each pixel sums the gradient over its s x s block.
Tensor upsample_nearest2d_backward(const Tensor& gy, const Shape& x_shape) {
    const std::int64_t planes = x_shape[0] * x_shape[1], H = x_shape[2], W = x_shape[3];
    const std::int64_t s = gy.size(2) / H;
    const std::vector<double> vg = values(gy);
    std::vector<double> gx(static_cast<std::size_t>(shape_numel(x_shape)), 0.0);
    for (std::int64_t pl = 0; pl < planes; ++pl)
        for (std::int64_t h = 0; h < H * s; ++h)
            for (std::int64_t w = 0; w < W * s; ++w)
                gx[(pl * H + h / s) * W + w / s] += vg[(pl * H * s + h) * W * s + w];
    return f64(gx, x_shape);
}

}  // namespace dcodr::reference
