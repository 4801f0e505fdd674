// Winograd F(2x2, 3x3) convolution on the CPU; the method and its matrices are in
// conv_winograd.h.
//
// Work is split by tile rows: tile row r of the batch is image r / TY, tile row r % TY (TY, TX:
// tiles per column / row of the output plane). Threads own contiguous ranges of tile rows and
// walk them in chunks of about kTargetTiles tiles; a chunk is transformed into a private buffer
// V [16][C][tiles], multiplied by the 16 transformed filters with serial Eigen GEMMs, and
// transformed back straight into the output. As in conv.cpp, threads never wait on each other.
//
// Each transform splits the rows of its 4x4 (or 2x2) windows into even and odd columns first:
// then every one of the 16 transformed values is an add or subtract of contiguous vectors over
// the tiles of a row, which the compiler vectorises.
#include "tensor/cpu/conv_winograd.h"

#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "tensor/cpu/eigen_views.h"
#include "tensor/cpu/scratch.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/cpu/transpose16.h"

namespace dcodr::conv_winograd {

namespace {

using eigen_views::cmat;
using eigen_views::mmat;

constexpr std::int64_t kXi = 16;  // positions of the 4x4 transformed domain
// Tiles per chunk: the GEMMs are [rows x C] x [C x tiles]; 256 columns keep them efficient
// while V (16 x C x 256 values) stays about the size of L2 at ResNet's widths.
constexpr std::int64_t kTargetTiles = 256;

// Planes read through the transforms: `channels` planes of h x w per image, read with zero
// padding of pad_h / pad_w.
struct Planes {
    std::int64_t channels, h, w, pad_h, pad_w;
};

// 2x2 tiles over an output plane of oh x ow (the last row / column of tiles may hang over).
struct Tiling {
    std::int64_t oh, ow, TY, TX;
    Tiling(std::int64_t oh_, std::int64_t ow_) : oh(oh_), ow(ow_), TY((oh_ + 1) / 2), TX((ow_ + 1) / 2) {}
};

// The transforms work channels-last: each of a tile's positions is a contiguous vector over
// channels, so every transformed value is an add or subtract of such vectors, vectorised over
// channels whatever the plane size (ResNet's deep planes are 2x2 to 8x8: too few tiles per row
// to vectorise along). The planes are transposed into that layout one image segment at a time.

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols, through 16 x 16 tiles held
// locally: the plain double loop scatters one side's accesses over rows x cols cache lines and
// measured 3-5x slower on the transposes below.
// float32 on AVX-512 takes each block through registers (transpose16.h), edges included.
template <class T>
void transpose(const T* src, std::int64_t lds, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t ldd) {
    constexpr std::int64_t B = 16;
    for (std::int64_t i0 = 0; i0 < rows; i0 += B)
        for (std::int64_t j0 = 0; j0 < cols; j0 += B) {
#if defined(__AVX512F__)
            if constexpr (std::is_same_v<T, float>) {
                cpu::transpose_block16(src + i0 * lds + j0, lds, std::min(B, rows - i0), std::min(B, cols - j0),
                                       dst + j0 * ldd + i0, ldd);
                continue;
            }
#endif
            if (i0 + B <= rows && j0 + B <= cols) {
                T t[B][B];
                for (std::int64_t i = 0; i < B; ++i)
                    for (std::int64_t j = 0; j < B; ++j) t[j][i] = src[(i0 + i) * lds + j0 + j];
                for (std::int64_t j = 0; j < B; ++j)
                    for (std::int64_t i = 0; i < B; ++i) dst[(j0 + j) * ldd + i0 + i] = t[j][i];
                continue;
            }
            const std::int64_t i1 = std::min(rows, i0 + B), j1 = std::min(cols, j0 + B);
            for (std::int64_t i = i0; i < i1; ++i)
                for (std::int64_t j = j0; j < j1; ++j) dst[j * ldd + i] = src[i * lds + j];
        }
}

// rows x cols x channels (channels-last) = planes[., row0 + i - pad_h, j - pad_w] for i < rows,
// j < cols, zero outside the planes. src is one image [channels, h, w].
template <class T>
void to_channels_last(const T* src, const Planes& in, std::int64_t row0, std::int64_t rows, std::int64_t cols,
                      T* dst) {
    const std::int64_t C = in.channels;
    const std::int64_t j0 = std::min(in.pad_w, cols), j1 = std::clamp(in.w + in.pad_w, j0, cols);
    for (std::int64_t i = 0; i < rows; ++i) {
        T* row = dst + i * cols * C;
        std::int64_t ih = row0 + i - in.pad_h;
        if (ih < 0 || ih >= in.h) {
            std::fill(row, row + cols * C, T(0));
            continue;
        }
        std::fill(row, row + j0 * C, T(0));
        std::fill(row + j1 * C, row + cols * C, T(0));
        // The row's C x (j1 - j0) block of planes (stride h * w) into (j1 - j0) x C.
        transpose(src + ih * in.w + (j0 - in.pad_w), in.h * in.w, C, j1 - j0, row + j0 * C, C);
    }
}

// The inverse for an output segment: planes dst[., row0 + i, j] = src[i][j][.] for rows i that
// fall inside the plane (i < rows) and columns j < ow. dst is one image [channels, oh, ow].
template <class T>
void from_channels_last(const T* src, std::int64_t channels, std::int64_t cols, std::int64_t row0,
                        std::int64_t rows, std::int64_t oh, std::int64_t ow, T* dst) {
    rows = std::min(rows, oh - row0);
    for (std::int64_t i = 0; i < rows; ++i)
        transpose(src + i * cols * channels, channels, ow, channels, dst + (row0 + i) * ow, oh * ow);
}

// Calls seg(n, ty0, ty1, t0) for each image's run of tile rows within [r0, r1); t0 is the
// index (in the chunk) of the run's first tile.
template <class F>
void for_image_runs(const Tiling& tl, std::int64_t r0, std::int64_t r1, F&& seg) {
    for (std::int64_t r = r0; r < r1;) {
        const std::int64_t n = r / tl.TY, ty0 = r % tl.TY, ty1 = std::min(tl.TY, ty0 + (r1 - r));
        seg(n, ty0, ty1, (r - r0) * tl.TX);
        r += ty1 - ty0;
    }
}

// V[xi][t][c] = (B^T d B)[xi] for every tile t of tile rows [r0, r1) (d: its 4x4 input window),
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. V is [16][ld][channels]; buf is scratch.
template <class T>
void input_transform(const T* src, const Planes& in, const Tiling& tl, std::int64_t r0, std::int64_t r1, T* v,
                     std::int64_t ld, Scratch<T>& buf) {
    const std::int64_t C = in.channels, cols = 2 * tl.TX + 2, xs = ld * C;
    for_image_runs(tl, r0, r1, [&](std::int64_t n, std::int64_t ty0, std::int64_t ty1, std::int64_t t0) {
        const std::int64_t rows = 2 * (ty1 - ty0) + 2;
        T* cl = buf.get(rows * cols * C);
        to_channels_last(src + n * C * in.h * in.w, in, 2 * ty0, rows, cols, cl);
        for (std::int64_t ty = ty0; ty < ty1; ++ty)
            for (std::int64_t tx = 0; tx < tl.TX; ++tx) {
                const T* d[4][4];
                for (int k = 0; k < 4; ++k)
                    for (int l = 0; l < 4; ++l) d[k][l] = cl + ((2 * (ty - ty0) + k) * cols + 2 * tx + l) * C;
                T* out = v + (t0 + (ty - ty0) * tl.TX + tx) * C;
#pragma omp simd
                for (std::int64_t c = 0; c < C; ++c) {
                    T q[4][4];  // B^T d: rows combined, column by column
                    for (int l = 0; l < 4; ++l) {
                        q[0][l] = d[0][l][c] - d[2][l][c];
                        q[1][l] = d[1][l][c] + d[2][l][c];
                        q[2][l] = d[2][l][c] - d[1][l][c];
                        q[3][l] = d[1][l][c] - d[3][l][c];
                    }
                    for (int i = 0; i < 4; ++i) {  // (B^T d) B: columns combined
                        out[(4 * i + 0) * xs + c] = q[i][0] - q[i][2];
                        out[(4 * i + 1) * xs + c] = q[i][1] + q[i][2];
                        out[(4 * i + 2) * xs + c] = q[i][2] - q[i][1];
                        out[(4 * i + 3) * xs + c] = q[i][1] - q[i][3];
                    }
                }
            }
    });
}

// E[xi][t][o] = (A e A^T)[xi] for the 2x2 output gradient e of every tile of rows [r0, r1),
// with A = [1 0; 1 1; 1 -1; 0 -1]; outputs past the plane's edge read as 0. E is [16][ld][O].
template <class T>
void grad_transform(const T* gy, std::int64_t O, const Tiling& tl, std::int64_t r0, std::int64_t r1, T* e,
                    std::int64_t ld, Scratch<T>& buf) {
    const std::int64_t cols = 2 * tl.TX, xs = ld * O;
    const Planes in{O, tl.oh, tl.ow, 0, 0};
    for_image_runs(tl, r0, r1, [&](std::int64_t n, std::int64_t ty0, std::int64_t ty1, std::int64_t t0) {
        const std::int64_t rows = 2 * (ty1 - ty0);
        T* cl = buf.get(rows * cols * O);
        to_channels_last(gy + n * O * tl.oh * tl.ow, in, 2 * ty0, rows, cols, cl);
        for (std::int64_t ty = ty0; ty < ty1; ++ty)
            for (std::int64_t tx = 0; tx < tl.TX; ++tx) {
                const T* e00 = cl + (2 * (ty - ty0) * cols + 2 * tx) * O;
                const T *e01 = e00 + O, *e10 = e00 + cols * O, *e11 = e10 + O;
                T* out = e + (t0 + (ty - ty0) * tl.TX + tx) * O;
#pragma omp simd
                for (std::int64_t o = 0; o < O; ++o) {
                    // Rows of A e: e0, e0 + e1, e0 - e1, -e1 (per column); columns likewise.
                    T u0[4] = {e00[o], e00[o] + e10[o], e00[o] - e10[o], -e10[o]};
                    T u1[4] = {e01[o], e01[o] + e11[o], e01[o] - e11[o], -e11[o]};
                    for (int i = 0; i < 4; ++i) {
                        out[(4 * i + 0) * xs + o] = u0[i];
                        out[(4 * i + 1) * xs + o] = u0[i] + u1[i];
                        out[(4 * i + 2) * xs + o] = u0[i] - u1[i];
                        out[(4 * i + 3) * xs + o] = -u1[i];
                    }
                }
            }
    });
}

// The output tiles of rows [r0, r1) = A^T m A from M [16][ld][channels], A^T = [1 1 1 0;
// 0 1 -1 -1]; only outputs inside the oh x ow plane are written. dst is [N, channels, oh, ow].
template <class T>
void output_transform(const T* m, std::int64_t channels, std::int64_t ld, const Tiling& tl, std::int64_t r0,
                      std::int64_t r1, T* dst, Scratch<T>& buf) {
    const std::int64_t cols = 2 * tl.TX, xs = ld * channels;
    for_image_runs(tl, r0, r1, [&](std::int64_t n, std::int64_t ty0, std::int64_t ty1, std::int64_t t0) {
        const std::int64_t rows = 2 * (ty1 - ty0);
        T* cl = buf.get(rows * cols * channels);
        for (std::int64_t ty = ty0; ty < ty1; ++ty)
            for (std::int64_t tx = 0; tx < tl.TX; ++tx) {
                const T* in = m + (t0 + (ty - ty0) * tl.TX + tx) * channels;
                T* y00 = cl + (2 * (ty - ty0) * cols + 2 * tx) * channels;
                T *y01 = y00 + channels, *y10 = y00 + cols * channels, *y11 = y10 + channels;
#pragma omp simd
                for (std::int64_t o = 0; o < channels; ++o) {
                    T s0[4], s1[4];  // m A, row by row: the tile's columns 0 and 1
                    for (int i = 0; i < 4; ++i) {
                        T m0 = in[(4 * i) * xs + o], m1 = in[(4 * i + 1) * xs + o];
                        T m2 = in[(4 * i + 2) * xs + o], m3 = in[(4 * i + 3) * xs + o];
                        s0[i] = m0 + m1 + m2;
                        s1[i] = m1 - m2 - m3;
                    }
                    y00[o] = s0[0] + s0[1] + s0[2];
                    y01[o] = s1[0] + s1[1] + s1[2];
                    y10[o] = s0[1] - s0[2] - s0[3];
                    y11[o] = s1[1] - s1[2] - s1[3];
                }
            }
        from_channels_last(cl, channels, cols, 2 * ty0, rows, tl.oh, tl.ow,
                           dst + n * channels * tl.oh * tl.ow);
    });
}

// Calls body(o, taps) for every output channel o of a 3x3 filter bank, threaded when the bank
// is large; taps is the calling thread's scratch of 9 x C values.
template <class T, class F>
void for_filters(std::int64_t O, std::int64_t C, F&& body) {
#pragma omp parallel if (O * C > 4096)
    {
        std::vector<T> taps(static_cast<std::size_t>(9 * C));
#pragma omp for
        for (std::int64_t o = 0; o < O; ++o) body(o, taps.data());
    }
}

// U[xi][o][c] = (G g G^T)[xi] for every filter g = w[o][c], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
// Per output channel, w[o] is first transposed to [9][C] so that the transform runs along
// channels on contiguous vectors and writes U's rows contiguously (written filter by filter,
// the 16 strided stores per filter made this 10 % of a layer3 convolution).
template <class T>
void filter_transform(const T* w, std::int64_t O, std::int64_t C, T* u) {
    const std::int64_t xs = O * C;
    for_filters<T>(O, C, [&](std::int64_t o, T* taps) {
        transpose(w + o * C * 9, std::int64_t{9}, C, std::int64_t{9}, taps, C);
        const T* g[9];
        for (int k = 0; k < 9; ++k) g[k] = taps + k * C;
        T* out = u + o * C;
#pragma omp simd
        for (std::int64_t c = 0; c < C; ++c) {
            T gg[4][3];  // G g
            for (int j = 0; j < 3; ++j) {
                gg[0][j] = g[j][c];
                gg[1][j] = T(0.5) * (g[j][c] + g[3 + j][c] + g[6 + j][c]);
                gg[2][j] = T(0.5) * (g[j][c] - g[3 + j][c] + g[6 + j][c]);
                gg[3][j] = g[6 + j][c];
            }
            for (int i = 0; i < 4; ++i) {  // (G g) G^T
                out[(4 * i + 0) * xs + c] = gg[i][0];
                out[(4 * i + 1) * xs + c] = T(0.5) * (gg[i][0] + gg[i][1] + gg[i][2]);
                out[(4 * i + 2) * xs + c] = T(0.5) * (gg[i][0] - gg[i][1] + gg[i][2]);
                out[(4 * i + 3) * xs + c] = gg[i][2];
            }
        }
    });
}

// gw[o][c] = G^T Mw[.][o][c] G: the 3x3 filter gradient from its 4x4 transformed sum, computed
// along channels into [9][C] and transposed into gw's [C][9] per output channel.
template <class T>
void filter_gradient(const T* mw, std::int64_t O, std::int64_t C, T* gw) {
    const std::int64_t xs = O * C;
    for_filters<T>(O, C, [&](std::int64_t o, T* g) {
        const T* in = mw + o * C;
#pragma omp simd
        for (std::int64_t c = 0; c < C; ++c) {
            T gm[3][4];  // G^T m: rows m0 + (m1 + m2)/2, (m1 - m2)/2, (m1 + m2)/2 + m3
            for (int j = 0; j < 4; ++j) {
                T m0 = in[j * xs + c], m1 = in[(4 + j) * xs + c], m2 = in[(8 + j) * xs + c];
                T m3 = in[(12 + j) * xs + c];
                gm[0][j] = m0 + T(0.5) * (m1 + m2);
                gm[1][j] = T(0.5) * (m1 - m2);
                gm[2][j] = T(0.5) * (m1 + m2) + m3;
            }
            for (int a = 0; a < 3; ++a) {  // (G^T m) G
                g[(3 * a + 0) * C + c] = gm[a][0] + T(0.5) * (gm[a][1] + gm[a][2]);
                g[(3 * a + 1) * C + c] = T(0.5) * (gm[a][1] - gm[a][2]);
                g[(3 * a + 2) * C + c] = T(0.5) * (gm[a][1] + gm[a][2]) + gm[a][3];
            }
        }
        transpose(g, C, std::int64_t{9}, C, gw + o * C * 9, std::int64_t{9});
    });
}

// The 16 GEMMs run on the packed float32 GEMM (sgemm.h) where the build has one and the
// product fills its 12 x 32 register tiles: at least 128 rows and 32 columns. Its micro-kernel
// runs nearer the FMA peak than Eigen's and its packing of the transposed filter is a register
// transpose (ResNet-50's 3x3 layers 4-8 % faster side by side); thinner products (the demo
// generator's 16 channels: 0.55-0.85x, backward-filter's O x C at 64 channels: 0.93x) and
// float64 and other targets keep Eigen.
template <class T>
bool packed_gemm(std::int64_t rows, std::int64_t cols) {
    if constexpr (std::is_same_v<T, float>) return cpu::has_packed_sgemm() && rows >= 128 && cols >= 32;
    return false;
}
// A row-major float matrix as an sgemm operand: element (r, j) at p[r·row_stride + j·col_stride].
cpu::ConstOperand operand(const float* p, std::int64_t row_stride, std::int64_t col_stride) {
    return {p, cpu::linear(row_stride), cpu::linear(col_stride)};
}
cpu::Operand operand(float* p, std::int64_t row_stride, std::int64_t col_stride) {
    return {p, cpu::linear(row_stride), cpu::linear(col_stride)};
}

// Calls body(thread, r0, r1) over chunks of tile rows covering [0, rows): each thread owns a
// contiguous range and walks it in increasing order. Returns the number of threads used.
template <class F>
int for_tile_chunks(std::int64_t rows, std::int64_t TX, F&& body) {
    const int threads = static_cast<int>(std::clamp<std::int64_t>(omp_get_max_threads(), 1, rows));
    const std::int64_t per_chunk = std::max<std::int64_t>(1, kTargetTiles / TX);
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        std::int64_t lo = rows * t / nt, hi = rows * (t + 1) / nt;
        for (std::int64_t r0 = lo; r0 < hi; r0 += per_chunk) body(t, r0, std::min(hi, r0 + per_chunk));
    }
    return threads;
}

// dst = 3x3/1 convolution of src through transformed filters U [16][O][C] (O, C: the forward's
// output / input channels). Forward: src has C channels, dst O. Rotated (backward-data): U is
// used as the filter rotated by 180 degrees with its channel axes swapped, so src has O
// channels and dst C.
template <class T>
void convolve(const T* src, const Planes& in, const T* u, std::int64_t O, std::int64_t C, bool rotated,
              std::int64_t N, std::int64_t out_h, std::int64_t out_w, T* dst) {
    const Tiling tl(out_h, out_w);
    const std::int64_t cin = rotated ? O : C, cout = rotated ? C : O;
    const int max_threads = std::max(1, omp_get_max_threads());
    std::vector<Scratch<T>> vs(max_threads), ms(max_threads);
    std::vector<Scratch<T>> bufs(max_threads);
    for_tile_chunks(N * tl.TY, tl.TX, [&](int t, std::int64_t r0, std::int64_t r1) {
        const std::int64_t ld = (r1 - r0) * tl.TX;
        T* v = vs[t].get(kXi * cin * ld);
        T* m = ms[t].get(kXi * cout * ld);
        input_transform(src, in, tl, r0, r1, v, ld, bufs[t]);
        for (std::int64_t xi = 0; xi < kXi; ++xi) {
            // Rotating g by 180 degrees swaps rows and columns 0 and 3 of G g G^T.
            constexpr std::int64_t swap03[4] = {3, 1, 2, 0};
            const T* ux = u + (rotated ? 4 * swap03[xi / 4] + swap03[xi % 4] : xi) * O * C;
            // M[xi] (tiles x cout) = V[xi] (tiles x cin) · (U[xi]ᵀ, or U[xi] rotated).
            if constexpr (std::is_same_v<T, float>) {
                if (packed_gemm<T>(ld, cout)) {
                    const T* vx = v + xi * ld * cin;
                    cpu::sgemm(ld, cpu::Columns{0, cout}, cin, operand(vx, cin, 1),
                               rotated ? operand(ux, C, 1) : operand(ux, 1, C), operand(m + xi * ld * cout, cout, 1),
                               false);
                    continue;
                }
            }
            auto vx = cmat(v + xi * ld * cin, ld, cin, cin);
            auto mx = mmat(m + xi * ld * cout, ld, cout, cout);
            if (!rotated) mx.noalias() = vx * cmat(ux, O, C, C).transpose();
            else mx.noalias() = vx * cmat(ux, O, C, C);
        }
        output_transform(m, cout, ld, tl, r0, r1, dst, bufs[t]);
    });
}

}  // namespace

template <class T>
void forward(const T* x, const T* w, T* y, const Shape4& s) {
    Scratch<T> u;
    filter_transform(w, s.O, s.C, u.get(kXi * s.O * s.C));
    convolve(x, Planes{s.C, s.H, s.W, s.pad_h, s.pad_w}, u.p, s.O, s.C, false, s.N, s.OH, s.OW, y);
}

template <class T>
void backward_data(const T* gy, const T* w, T* gx, const Shape4& s) {
    Scratch<T> u;
    filter_transform(w, s.O, s.C, u.get(kXi * s.O * s.C));
    // The full correlation of gy with the rotated filter: padding 2 - p gives back H x W.
    convolve(gy, Planes{s.O, s.OH, s.OW, 2 - s.pad_h, 2 - s.pad_w}, u.p, s.O, s.C, true, s.N, s.H, s.W, gx);
}

template <class T>
void backward_filter(const T* x, const T* gy, T* gw, const Shape4& s) {
    const Tiling tl(s.OH, s.OW);
    const Planes in{s.C, s.H, s.W, s.pad_h, s.pad_w};
    const std::int64_t wsize = kXi * s.O * s.C;
    const int max_threads = std::max(1, omp_get_max_threads());
    std::vector<Scratch<T>> vs(max_threads), es(max_threads), acc(max_threads);
    std::vector<Scratch<T>> bufs(max_threads);
    std::vector<char> started(max_threads, 0);
    int threads = for_tile_chunks(s.N * tl.TY, tl.TX, [&](int t, std::int64_t r0, std::int64_t r1) {
        const std::int64_t ld = (r1 - r0) * tl.TX;
        T* v = vs[t].get(kXi * s.C * ld);
        T* e = es[t].get(kXi * s.O * ld);
        T* mw = acc[t].get(wsize);
        input_transform(x, in, tl, r0, r1, v, ld, bufs[t]);
        grad_transform(gy, s.O, tl, r0, r1, e, ld, bufs[t]);
        for (std::int64_t xi = 0; xi < kXi; ++xi) {
            // Mw[xi] (O x C) (+)= E[xi]ᵀ (O x tiles) · V[xi] (tiles x C).
            if constexpr (std::is_same_v<T, float>) {
                if (packed_gemm<T>(s.O, s.C)) {
                    const T *ex = e + xi * ld * s.O, *vx = v + xi * ld * s.C;
                    cpu::sgemm(s.O, cpu::Columns{0, s.C}, ld, operand(ex, 1, s.O), operand(vx, s.C, 1),
                               operand(mw + xi * s.O * s.C, s.C, 1), started[t] != 0);
                    continue;
                }
            }
            auto dst = mmat(mw + xi * s.O * s.C, s.O, s.C, s.C);
            auto prod = cmat(e + xi * ld * s.O, ld, s.O, s.O).transpose() * cmat(v + xi * ld * s.C, ld, s.C, s.C);
            if (started[t]) dst.noalias() += prod;
            else dst.noalias() = prod;
        }
        started[t] = 1;
    });
    // Thread 0 always has tile rows (rows >= 1 when N >= 1); add the others' partial sums to it.
    T* sum = acc[0].p;
    for (int t = 1; t < threads; ++t) {
        if (!started[t]) continue;
        const T* part = acc[t].p;
#pragma omp parallel for if (wsize > 32768)
        for (std::int64_t i = 0; i < wsize; ++i) sum[i] += part[i];
    }
    filter_gradient(sum, s.O, s.C, gw);
}

template void forward<float>(const float*, const float*, float*, const Shape4&);
template void forward<double>(const double*, const double*, double*, const Shape4&);
template void backward_data<float>(const float*, const float*, float*, const Shape4&);
template void backward_data<double>(const double*, const double*, double*, const Shape4&);
template void backward_filter<float>(const float*, const float*, float*, const Shape4&);
template void backward_filter<double>(const double*, const double*, double*, const Shape4&);

}  // namespace dcodr::conv_winograd
