// Central-difference gradient checking, in float64.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr {

struct GradcheckOptions {
    double eps = 1e-6;    // relative step: h = eps * max(1, |x|)
    double atol = 1e-7;
    double rtol = 1e-5;
    std::uint64_t seed = 1234;  // for the random projection of the output
};

// Checks d<r, f(inputs)>/d(input) from backward() against central differences for every
// element of every input that requires grad. Inputs must be float64 CPU tensors (they may
// be non-contiguous views). Returns "" when all match, else a description of the worst miss.
std::string gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      const GradcheckOptions& options = {});

}  // namespace dcodr
