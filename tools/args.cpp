#include "tools/args.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "tensor/error.h"

namespace dcodr::tools {

Args::Args(std::string command, std::string summary, int argc, char** argv)
    : command_(std::move(command)), summary_(std::move(summary)), raw_(argv, argv + argc) {}

void Args::option(const std::string& name, const std::string& def, const std::string& help,
                  const std::string& group) {
    DCODR_CHECK(!options_.count(name), "internal: option --{} declared twice", name);
    options_[name] = {def, help, group, false};
    order_.push_back(name);
}
void Args::flag(const std::string& name, const std::string& help, const std::string& group) {
    DCODR_CHECK(!options_.count(name), "internal: option --{} declared twice", name);
    options_[name] = {"", help, group, true};
    order_.push_back(name);
}

void Args::set_default(const std::string& name, const std::string& value) {
    auto it = options_.find(name);
    DCODR_CHECK(it != options_.end(), "internal: option --{} was not declared", name);
    it->second.default_value = value;
}

bool Args::parse() {
    for (std::size_t i = 0; i < raw_.size(); ++i) {
        std::string a = raw_[i];
        if (a == "--help" || a == "-h") {
            std::cout << help();
            return true;
        }
        if (a.rfind("--", 0) != 0) usage_error("unexpected argument '{}' (options start with --; see --help)", a);
        std::string name = a.substr(2), value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        auto it = options_.find(name);
        if (it == options_.end()) {
            std::string known;
            for (auto& n : order_) known += " --" + n;
            usage_error("unknown option --{}; known options:{}", name, known);
        }
        if (it->second.is_flag) {
            if (inline_value && value != "true" && value != "false")
                usage_error("--{} is a flag and takes no value (or =true, =false)", name);
            values_[name] = inline_value ? value : "true";
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= raw_.size()) usage_error("option --{} needs a value", name);
            value = raw_[++i];
        }
        values_[name] = value;
    }
    return false;
}

std::string Args::str(const std::string& name) const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    auto o = options_.find(name);
    DCODR_CHECK(o != options_.end(), "internal: option --{} was not declared", name);
    return o->second.default_value;
}
std::int64_t Args::integer(const std::string& name) const {
    std::string v = str(name);
    try {
        std::size_t used = 0;
        long long r = std::stoll(v, &used);
        if (used == v.size()) return r;
    } catch (const std::exception&) {
    }
    usage_error("--{} expects an integer, got '{}'", name, v);
}
double Args::number(const std::string& name) const {
    std::string v = str(name);
    try {
        std::size_t used = 0;
        double r = std::stod(v, &used);
        if (used == v.size()) return r;
    } catch (const std::exception&) {
    }
    usage_error("--{} expects a number, got '{}'", name, v);
}
bool Args::enabled(const std::string& name) const { return str(name) == "true"; }
bool Args::given(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::help() const {
    std::string out = fmt::format("usage: dcodr {} [options]\n\n{}\n", command_, summary_);
    // Ungrouped options first, then the known groups in the order a run is described, then any
    // other group in order of first use.
    std::vector<std::string> groups = {"", "data", "model", "method", "optimisation", "evaluation", "output",
                                       "runtime"};
    for (auto& n : order_) {
        const std::string& g = options_.at(n).group;
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    }
    for (const auto& g : groups) {
        const bool used = std::any_of(order_.begin(), order_.end(), [&](const std::string& n) {
            return options_.at(n).group == g;
        });
        if (!used) continue;
        out += fmt::format("\n{}:\n", g.empty() ? "options" : g + " options");
        for (auto& n : order_) {
            const Option& o = options_.at(n);
            if (o.group != g) continue;
            std::string left = o.is_flag ? "--" + n
                                         : fmt::format("--{} <{}>", n, o.default_value.empty() ? "value" : o.default_value);
            out += fmt::format("  {:<34} {}\n", left, o.help);
        }
    }
    return out;
}

}  // namespace dcodr::tools
