// Return-code checks for CUDA, cuBLAS and cuDNN calls. Free of fmt and of the tensor headers,
// so .cu files can include it (nvcc cannot compile fmt 9's headers).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

namespace dcodr::cuda {

// Throw dcodr::Error (defined in cuda/backend.cpp).
[[noreturn]] void cuda_fail(const std::string& message);
[[noreturn]] void throw_api_error(const char* api, const char* call, const char* what, int code, const char* file,
                                  int line);

}  // namespace dcodr::cuda

#define DCODR_CUDA_CHECK(expr)                                                                                  \
    do {                                                                                                        \
        cudaError_t e_ = (expr);                                                                                \
        if (e_ != cudaSuccess)                                                                                  \
            ::dcodr::cuda::throw_api_error("CUDA", #expr, cudaGetErrorString(e_), static_cast<int>(e_), __FILE__, \
                                           __LINE__);                                                           \
    } while (0)
#define DCODR_CUBLAS_CHECK(expr)                                                                                \
    do {                                                                                                        \
        cublasStatus_t s_ = (expr);                                                                             \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                        \
            ::dcodr::cuda::throw_api_error("cuBLAS", #expr, cublasGetStatusString(s_), static_cast<int>(s_),     \
                                           __FILE__, __LINE__);                                                 \
    } while (0)
#define DCODR_CUDNN_CHECK(expr)                                                                                 \
    do {                                                                                                        \
        cudnnStatus_t s_ = (expr);                                                                              \
        if (s_ != CUDNN_STATUS_SUCCESS)                                                                         \
            ::dcodr::cuda::throw_api_error("cuDNN", #expr, cudnnGetErrorString(s_), static_cast<int>(s_),       \
                                           __FILE__, __LINE__);                                                 \
    } while (0)
// After a kernel launch: reports launch-configuration errors (faults inside a kernel surface
// at the next synchronising call, which is checked too).
#define DCODR_CUDA_LAUNCH_CHECK() DCODR_CUDA_CHECK(cudaGetLastError())
