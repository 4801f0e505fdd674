// A single-threaded float32 GEMM, C (+)= A · B, whose operands may be batches of NCHW planes:
// what a 1x1 convolution multiplies (conv_pointwise.h). Eigen's GEMM needs dense matrices, so
// conv.cpp copies each chunk of images into one ([C, images x pixels]) and the product back out
// (14 % of a 1x1 convolution in `perf`); here the packing that every fast GEMM does anyway reads
// the planes where they lie, and the micro-kernel stores straight into them.
//
// The design is the classic packed one (Goto / BLIS): B is packed into panels of kNR columns
// that stay in L1, A into panels of kMR rows read from L2, and a register-blocked micro-kernel
// does kMR x kNR outer products per step of the depth. The micro-kernel is written for AVX-512
// (12 x 32: 24 accumulators of 16 floats) and AVX2 + FMA (6 x 16); other targets (ARM, the
// x86-64 baseline) have none, `has_packed_sgemm()` says so and the convolutions keep Eigen.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

namespace dcodr::cpu {

// True where the packed GEMM exists (x86-64-v3 and v4 builds) and is enabled.
bool has_packed_sgemm();
// Turns the packed GEMM off (every caller then takes its Eigen path) or back on: for
// side-by-side measurements in one process (`dcodr bench step --compare-eigen-gemm`) and tests.
// Call it between kernels, not while one runs.
void set_packed_sgemm_enabled(bool enabled);

// Where index i of one dimension of an operand lies: (i / run) · run_stride + (i % run) · stride.
// A plain matrix dimension is one endless run; the columns of a batch of NCHW planes (image b,
// pixel p, i = b·P + p) are runs of P pixels (stride 1), one per image (run_stride: the image's
// size).
struct Dim {
    static constexpr std::int64_t kEndless = std::numeric_limits<std::int64_t>::max();
    std::int64_t stride = 1;
    std::int64_t run = kEndless;
    std::int64_t run_stride = 0;
    bool linear() const { return run == kEndless; }
    // (The test skips the divisions for the linear dimensions: a 64-bit division per packed row
    // made the packing slower than the multiply-adds on thin products.)
    std::int64_t offset(std::int64_t i) const { return linear() ? i * stride : i / run * run_stride + i % run * stride; }
    // Values [i, i + len) are contiguous in memory.
    bool contiguous(std::int64_t i, std::int64_t len) const {
        return stride == 1 && (linear() || i % run + len <= run);
    }
};
inline Dim linear(std::int64_t stride) { return Dim{stride}; }
inline Dim planes(std::int64_t pixels, std::int64_t image_size) { return Dim{1, pixels, image_size}; }

// Element (r, j) of an operand is data[rows.offset(r) + cols.offset(j)].
struct ConstOperand {
    const float* data;
    Dim rows, cols;
};
struct Operand {
    float* data;
    Dim rows, cols;
    // C only, AVX-512 only (has_spread_store()): cols is every other pixel of every other row of
    // planes (Dim{2, OW, 2·W} with W = 2·OW, OW a multiple of 8), and each tile stored also writes
    // the zeros between its pixels and the odd rows below them, so that C's planes are written
    // whole: a stride-2 1x1 backward-data straight into gx.
    bool zero_gaps = false;
};
// True where the packed GEMM can store Operand::zero_gaps tiles.
bool has_spread_store();

// A, packed once for many products: a convolution multiplies every thread's images by the same
// weights, so the threads share one packing of them.
class PackedA {
public:
    PackedA(std::int64_t m, std::int64_t depth, const ConstOperand& a);
    ~PackedA();
    PackedA(const PackedA&) = delete;
    PackedA& operator=(const PackedA&) = delete;
    std::int64_t rows() const { return m_; }
    std::int64_t depth() const { return depth_; }
    // The packed block of rows [ic, ic + kMC) and depth block number `depth_block`.
    const float* block(std::int64_t depth_block, std::int64_t ic) const;

private:
    std::int64_t m_ = 0, depth_ = 0, row_blocks_ = 0;
    float* data_ = nullptr;
    std::size_t bytes_ = 0;
    std::vector<std::int64_t> offsets_;
};

// Columns [begin, end) of the product: threads split C's columns without rebasing the operands
// (a split inside an image would break the run arithmetic of Dim).
struct Columns {
    std::int64_t begin, end;
};

// C (+)= A · B over C's rows [0, m) and columns `cols`, for A of m x depth (packed) and B of
// depth x (columns); `accumulate` adds to C instead of overwriting it. C's rows must be linear
// (Dim::run endless).
void sgemm(const PackedA& a, Columns cols, const ConstOperand& b, const Operand& c, bool accumulate);
// The same with A packed on the fly (an operand used once).
void sgemm(std::int64_t m, Columns cols, std::int64_t depth, const ConstOperand& a, const ConstOperand& b,
           const Operand& c, bool accumulate);

}  // namespace dcodr::cpu
