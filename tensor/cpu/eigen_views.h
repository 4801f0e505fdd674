// Row-major Eigen views over raw buffers with a leading dimension: how the CPU convolutions
// hand their packed buffers to Eigen's GEMM without copying.
#pragma once
#include <Eigen/Core>
#include <cstdint>

namespace dcodr::eigen_views {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using CMat = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MMat = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// A row-major [rows, cols] matrix view with leading dimension ld.
template <class T>
CMat<T> cmat(const T* p, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return CMat<T>(p, rows, cols, Eigen::OuterStride<>(ld));
}
template <class T>
MMat<T> mmat(T* p, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return MMat<T>(p, rows, cols, Eigen::OuterStride<>(ld));
}

}  // namespace dcodr::eigen_views
