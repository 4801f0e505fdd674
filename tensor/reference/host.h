// Host access for the reference kernels (reference.h): read any tensor element by element
// through its strides, and wrap results as float64 CPU tensors.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr::reference {

// The elements of t in row-major order of its shape, converted to double. Reads the view's
// strides itself (no kernel makes it contiguous), so a reference result never depends on the
// kernels it checks. A device tensor is copied to the host first.
std::vector<double> values(const Tensor& t);
// The same for an int64 tensor, unconverted.
std::vector<std::int64_t> int_values(const Tensor& t);
// A contiguous float64 CPU tensor holding v.
Tensor f64(const std::vector<double>& v, const Shape& shape);

}  // namespace dcodr::reference
