// CUDA simulator: the constants of CUDA's math_constants.h that dcodr's kernels use.
#pragma once
#define CUDART_INF_F __builtin_huge_valf()
#define CUDART_INF __builtin_huge_val()
