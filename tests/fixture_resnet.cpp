#include "tests/fixture_resnet.h"

#include <cmath>
#include <functional>
#include <fstream>
#include <sstream>

namespace dcodr::testing {

json::Value load_json_file(const std::string& path) {
    std::ifstream in(path);
    DCODR_CHECK(in.good(), "cannot open fixture {}", path);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

namespace {
// A rule as a function of s = sin(0.7*i + 0.3*k), parsed once per tensor.
std::function<double(double)> parse_rule(const std::string& rule) {
    if (rule.rfind("0.5*sqrt(3/fan_in)*sin(0.7*i + 0.3*k), fan_in=", 0) == 0) {
        double scale = 0.5 * std::sqrt(3.0 / std::stod(rule.substr(rule.find('=') + 1)));
        return [scale](double s) { return scale * s; };
    }
    if (rule == "1 + 0.1*sin(0.7*i + 0.3*k)") return [](double s) { return 1 + 0.1 * s; };
    if (rule == "0.1*sin(0.7*i + 0.3*k)") return [](double s) { return 0.1 * s; };
    if (rule == "1 + 0.5*|sin(0.7*i + 0.3*k)|") return [](double s) { return 1 + 0.5 * std::abs(s); };
    fail("unknown fixture rule '{}'", rule);
}
}  // namespace

double fixture_rule_value(const std::string& rule, std::int64_t i, std::int64_t k) {
    return parse_rule(rule)(std::sin(0.7 * static_cast<double>(i) + 0.3 * static_cast<double>(k)));
}

void apply_fixture_rules(const std::vector<nn::NamedTensor>& state, const json::Value& specs) {
    const auto& tensors = specs.as_array();
    DCODR_CHECK(state.size() == tensors.size(), "state dict has {} tensors, fixture {}", state.size(), tensors.size());
    for (std::size_t j = 0; j < tensors.size(); ++j) {
        const auto& spec = tensors[j];
        DCODR_CHECK(state[j].name == spec.at("name").as_string(), "tensor {}: name {} vs fixture {}", j, state[j].name,
                    spec.at("name").as_string());
        const std::string& rule = spec.at("rule").as_string();
        if (rule == "unchanged") continue;
        std::int64_t k = spec.at("k").as_int();
        Tensor t = state[j].tensor;
        std::vector<double> v(static_cast<std::size_t>(t.numel()));
        auto value = parse_rule(rule);
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] = value(std::sin(0.7 * static_cast<double>(i) + 0.3 * static_cast<double>(k)));
        t.copy_(Tensor::from_vector(v, t.shape(), DType::f64));
    }
}

void apply_fixture_weights(nn::Module& model, const json::Value& fixture) {
    apply_fixture_rules(model.state_dict(), fixture.at("weights").at("tensors"));
}

Tensor fixture_input(const json::Value& fixture, DType dtype) {
    Shape shape;
    for (auto& d : fixture.at("input").at("shape").as_array()) shape.push_back(d.as_int());
    std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5 + 0.5 * std::sin(0.05 * static_cast<double>(i));
    return Tensor::from_vector(v, shape, dtype);
}

}  // namespace dcodr::testing
