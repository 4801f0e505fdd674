#include "nn/state_dict.h"

#include <fmt/format.h>
#include <unordered_map>

#include "tensor/error.h"

namespace dcodr::nn {

namespace {

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
}

std::unordered_map<std::string, const Tensor*> index_by_name(const std::vector<NamedTensor>& list,
                                                              const char* side, const std::string& prefix) {
    std::unordered_map<std::string, const Tensor*> map;
    map.reserve(list.size());
    for (const auto& [name, t] : list) {
        if (!map.emplace(name, &t).second) fail("{}load_state_dict: duplicate name '{}' in the {}", prefix, name, side);
        if (!t.defined()) fail("{}load_state_dict: '{}' in the {} is an undefined tensor", prefix, name, side);
    }
    return map;
}

}  // namespace

std::string LoadReport::describe() const {
    std::string s;
    auto line = [&](const char* what, std::size_t n, const std::string& items) {
        if (n == 0) return;
        if (!s.empty()) s += '\n';
        s += fmt::format("  {} ({}): {}", what, n, items);
    };
    line("missing", missing.size(), join(missing));
    line("unexpected", unexpected.size(), join(unexpected));
    std::vector<std::string> shapes;
    for (const auto& m : mismatched)
        shapes.push_back(fmt::format("{} (expected {}, found {})", m.name, shape_str(m.expected), shape_str(m.found)));
    line("mis-shaped", mismatched.size(), join(shapes));
    return s;
}

LoadReport load_state_dict(const std::vector<NamedTensor>& targets, const std::vector<NamedTensor>& loaded,
                           bool strict, const std::string& source) {
    std::string prefix = source.empty() ? "" : fmt::format("'{}': ", source);
    auto want = index_by_name(targets, "model", prefix);
    auto have = index_by_name(loaded, "loaded tensors", prefix);

    // Match first, copy after: strict mode must fail before anything has been written.
    LoadReport report;
    std::vector<std::pair<Tensor, const Tensor*>> copies;
    for (const auto& [name, t] : targets) {
        auto it = have.find(name);
        if (it == have.end()) {
            report.missing.push_back(name);
        } else if (it->second->shape() != t.shape()) {
            report.mismatched.push_back({name, t.shape(), it->second->shape()});
        } else {
            copies.emplace_back(t, it->second);
            report.loaded.push_back(name);
        }
    }
    for (const auto& [name, t] : loaded)
        if (!want.count(name)) report.unexpected.push_back(name);

    if (strict && !report.ok())
        fail("{}load_state_dict: {} missing, {} unexpected, {} mis-shaped tensors:\n{}", prefix,
             report.missing.size(), report.unexpected.size(), report.mismatched.size(), report.describe());

    for (auto& [dst, src] : copies) dst.copy_(*src);
    return report;
}

}  // namespace dcodr::nn
