// Refuses weights holding NaN or infinity when they are loaded: such an encoder used to
// encode every image to NaN codes and report it as a result.
#pragma once
#include <string>
#include <vector>

#include "nn/named_tensor.h"

namespace dcodr::nn {

// Throws "<path>: tensor '<name>' holds N non-finite values (NaN or inf) ..." for the first bad one.
void require_finite(const std::vector<NamedTensor>& tensors, const std::string& path);

}  // namespace dcodr::nn
