// Reference batch norm, PyTorch's definition, over x: [N, C, S] (S = spatial size, 1 for
// BatchNorm1d). Per channel c and statistics group g (rows [g*N/G, (g+1)*N/G)):
//   mean = sum x / count, var = sum (x - mean)^2 / count (biased), count = (N/G)*S
//   xhat = (x - mean) / sqrt(var + eps), y = xhat * weight[c] + bias[c] (+ residual) (relu)
//   running = (1 - momentum) * running + momentum * stat, with the unbiased var * count/(count-1)
// Backward (gy masked by relu_out > 0 when the forward had a ReLU):
//   gx = weight * invstd * (gy - mean(gy) - xhat * mean(gy * xhat)),
//   gweight = sum gy * xhat, gbias = sum gy (summed over the groups).
#include <cmath>

#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

namespace {

// Flat index of x[n, c, s].
std::int64_t at(const Shape& xs, std::int64_t n, std::int64_t c, std::int64_t s) { return (n * xs[1] + c) * xs[2] + s; }

// A per-channel parameter's values, or `absent` for each channel when there is none.
std::vector<double> per_channel(const Tensor* t, std::int64_t C, double absent) {
    return t ? values(*t) : std::vector<double>(static_cast<std::size_t>(C), absent);
}

}  // namespace

BatchNormTrain batch_norm_forward_train(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                        const Tensor* running_mean, const Tensor* running_var, double momentum,
                                        double eps, std::int64_t groups, const Tensor* residual, bool relu) {
    const Shape& xs = x.shape();
    const std::int64_t N = xs[0], C = xs[1], S = xs[2], rows = N / groups;
    const double count = static_cast<double>(rows * S);
    const std::vector<double> vx = values(x), w = per_channel(weight, C, 1.0), b = per_channel(bias, C, 0.0);
    const std::vector<double> r = residual ? values(*residual) : std::vector<double>();
    std::vector<double> rm = per_channel(running_mean, C, 0.0), rv = per_channel(running_var, C, 1.0);
    std::vector<double> y(vx.size()), smean(static_cast<std::size_t>(groups * C)), sinv(smean.size());
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t c = 0; c < C; ++c) {
            double sum = 0, sq = 0;
            for (std::int64_t n = g * rows; n < (g + 1) * rows; ++n)
                for (std::int64_t s = 0; s < S; ++s) sum += vx[at(xs, n, c, s)];
            const double mean = sum / count;
            for (std::int64_t n = g * rows; n < (g + 1) * rows; ++n)
                for (std::int64_t s = 0; s < S; ++s) sq += (vx[at(xs, n, c, s)] - mean) * (vx[at(xs, n, c, s)] - mean);
            const double var = sq / count, invstd = 1.0 / std::sqrt(var + eps);
            smean[g * C + c] = mean;
            sinv[g * C + c] = invstd;
            rm[c] = (1 - momentum) * rm[c] + momentum * mean;
            rv[c] = (1 - momentum) * rv[c] + momentum * var * count / (count - 1);
            for (std::int64_t n = g * rows; n < (g + 1) * rows; ++n)
                for (std::int64_t s = 0; s < S; ++s) {
                    const std::int64_t i = at(xs, n, c, s);
                    double v = (vx[i] - mean) * invstd * w[c] + b[c];
                    if (residual) v += r[i];
                    y[i] = relu && !(v > 0) ? 0.0 : v;
                }
        }
    BatchNormTrain out;
    out.y = f64(y, xs);
    out.save_mean = f64(smean, {groups, C});
    out.save_invstd = f64(sinv, {groups, C});
    if (running_mean) out.running_mean = f64(rm, {C});
    if (running_var) out.running_var = f64(rv, {C});
    return out;
}

Tensor batch_norm_forward_eval(const Tensor& x, const Tensor* weight, const Tensor* bias,
                               const Tensor& running_mean, const Tensor& running_var, double eps) {
    const Shape& xs = x.shape();
    const std::int64_t N = xs[0], C = xs[1], S = xs[2];
    const std::vector<double> vx = values(x), w = per_channel(weight, C, 1.0), b = per_channel(bias, C, 0.0);
    const std::vector<double> rm = values(running_mean), rv = values(running_var);
    std::vector<double> y(vx.size());
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t s = 0; s < S; ++s) {
                const std::int64_t i = at(xs, n, c, s);
                y[i] = (vx[i] - rm[c]) / std::sqrt(rv[c] + eps) * w[c] + b[c];
            }
    return f64(y, xs);
}

BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, std::int64_t groups, const Tensor* relu_out) {
    const Shape& xs = x.shape();
    const std::int64_t N = xs[0], C = xs[1], S = xs[2], rows = N / groups;
    const double count = static_cast<double>(rows * S);
    const std::vector<double> vx = values(x), w = per_channel(weight, C, 1.0);
    const std::vector<double> smean = values(save_mean), sinv = values(save_invstd);
    std::vector<double> g = values(gy);
    if (relu_out) {
        const std::vector<double> ro = values(*relu_out);
        for (std::size_t i = 0; i < g.size(); ++i)
            if (!(ro[i] > 0)) g[i] = 0;
    }
    std::vector<double> gx(vx.size()), gw(static_cast<std::size_t>(C), 0.0), gb(gw.size(), 0.0);
    for (std::int64_t grp = 0; grp < groups; ++grp)
        for (std::int64_t c = 0; c < C; ++c) {
            const double mean = smean[grp * C + c], invstd = sinv[grp * C + c];
            double sg = 0, sgx = 0;  // sum gy, sum gy * xhat
            for (std::int64_t n = grp * rows; n < (grp + 1) * rows; ++n)
                for (std::int64_t s = 0; s < S; ++s) {
                    const std::int64_t i = at(xs, n, c, s);
                    sg += g[i];
                    sgx += g[i] * (vx[i] - mean) * invstd;
                }
            gw[c] += sgx;
            gb[c] += sg;
            for (std::int64_t n = grp * rows; n < (grp + 1) * rows; ++n)
                for (std::int64_t s = 0; s < S; ++s) {
                    const std::int64_t i = at(xs, n, c, s);
                    const double xhat = (vx[i] - mean) * invstd;
                    gx[i] = w[c] * invstd * (g[i] - sg / count - xhat * sgx / count);
                }
        }
    BatchNormGrads out;
    out.x = f64(gx, xs);
    out.weight = f64(gw, {C});
    out.bias = f64(gb, {C});
    if (relu_out) out.relu_in = f64(g, xs);
    return out;
}

}  // namespace dcodr::reference
