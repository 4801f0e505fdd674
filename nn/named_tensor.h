// A tensor with its state-dict name ("layer1.0.conv1.weight"): the unit that checkpoints
// store and load_state_dict matches. Tensor is a shared handle, so a NamedTensor taken from a
// module refers to the module's own storage.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace dcodr::nn {

struct NamedTensor {
    std::string name;
    Tensor tensor;
};

}  // namespace dcodr::nn
