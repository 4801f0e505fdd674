// Loads tests/fixtures/torchvision-resnet18-reference.json: weights and input defined by
// formulas, and PyTorch's float64 outputs, loss and gradients for train and eval mode.
#pragma once
#include <string>
#include <vector>

#include "nn/json.h"
#include "nn/resnet.h"

namespace dcodr::testing {

json::Value load_json_file(const std::string& path);
// Evaluates a fixture rule such as "0.5*sqrt(3/fan_in)*sin(0.7*i + 0.3*k), fan_in=147".
double fixture_rule_value(const std::string& rule, std::int64_t i, std::int64_t k);
// Writes weights given by rules ([{name, k, rule}, ...] in state-dict order) into `state`.
void apply_fixture_rules(const std::vector<nn::NamedTensor>& state, const json::Value& specs);
// Writes the fixture's weights into the model's state dict (names and order must match).
void apply_fixture_weights(nn::Module& model, const json::Value& fixture);
Tensor fixture_input(const json::Value& fixture, DType dtype);

}  // namespace dcodr::testing
