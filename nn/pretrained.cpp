#include "nn/pretrained.h"

#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <map>

#include "data/npy.h"
#include "nn/safetensors.h"
#include "tensor/error.h"

namespace dcodr::nn {

namespace {

std::string sniff(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    DCODR_CHECK(in.good(), "cannot open '{}'", path);
    char head[64] = {};
    in.read(head, sizeof head);
    const std::size_t n = static_cast<std::size_t>(in.gcount());
    std::string_view h(head, n);
    if (n >= 9 && h[8] == '{') return "safetensors";
    if (n >= 30 && h.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
        // The first entry's name: PyTorch writes <folder>/data.pkl first, numpy <name>.npy.
        std::size_t len = static_cast<unsigned char>(h[26]) | (static_cast<unsigned char>(h[27]) << 8);
        std::string_view first = h.substr(30, std::min(len, n - 30));
        if (first.size() >= 4 && first.substr(first.size() - 4) == ".npy") return "npz";
        return "pytorch";
    }
    return "pytorch";
}

std::string list(const std::vector<std::string>& names, std::size_t max = 8) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < max; ++i) s += (i ? ", " : "") + names[i];
    if (names.size() > max) s += fmt::format(", ... ({} more)", names.size() - max);
    return s;
}

}  // namespace

WeightsFile read_weights_file(const std::string& path, const TorchLoadOptions& options) {
    WeightsFile w;
    const std::string kind = sniff(path);
    if (kind == "safetensors") {
        w.format = "safetensors";
        SafetensorsContent c = load_safetensors(path);
        w.metadata = c.metadata;
        // The stored dtypes: from the header (the loader has converted F16/BF16/ints).
        std::ifstream in(path, std::ios::binary);
        std::uint64_t hlen = 0;
        in.read(reinterpret_cast<char*>(&hlen), 8);
        std::string header(static_cast<std::size_t>(hlen), '\0');
        in.read(header.data(), static_cast<std::streamsize>(hlen));
        json::Value h = json::parse(header);
        for (auto& nt : c.tensors) {
            const json::Value& e = h.at(nt.name);
            auto offs = e.at("data_offsets").as_array();
            w.tensors.push_back({nt.name, e.at("dtype").as_string(), offs[1].as_int() - offs[0].as_int(), nt.tensor});
        }
        return w;
    }
    if (kind == "npz") {
        w.format = "npz";
        for (auto& [name, a] : data::load_npz(path)) {
            if (a.is_string()) {  // names stored beside the arrays (a data set's contents_names)
                w.others.push_back(name + " = " + a.descr() + " strings");
                continue;
            }
            w.tensors.push_back({name, a.descr(), static_cast<std::int64_t>(a.bytes.size()), a.to_tensor()});
        }
        return w;
    }
    TorchCheckpoint c = load_torch_checkpoint(path, options);
    w.format = "pytorch " + c.layout;
    w.key = c.key;
    w.tensors = std::move(c.tensors);
    w.others = std::move(c.others);
    return w;
}

std::string InitReport::describe() const {
    std::string s = fmt::format("init: loaded {} tensors from '{}' ({}{})", loaded.size(), path, format,
                                key.empty() ? "" : ", key '" + key + "'");
    if (!missing.empty()) s += fmt::format("\n  missing ({}), kept as initialised: {}", missing.size(), list(missing));
    if (!unexpected.empty()) s += fmt::format("\n  unexpected ({}): {}", unexpected.size(), list(unexpected));
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto& [name, why] : not_used) by_reason[why].push_back(name);
    for (const auto& [why, names] : by_reason)
        s += fmt::format("\n  not used ({}, {}): {}", names.size(), why, list(names, 4));
    return s;
}

json::Value InitReport::to_json() const {
    json::Value v = json::Value::object();
    v["path"] = path;
    v["format"] = format;
    v["key"] = key;
    v["loaded"] = static_cast<std::int64_t>(loaded.size());
    auto names = [](const std::vector<std::string>& l) {
        json::Value a = json::Value::array();
        for (const auto& n : l) a.push_back(n);
        return a;
    };
    v["missing"] = names(missing);
    v["unexpected"] = names(unexpected);
    v["not_used"] = static_cast<std::int64_t>(not_used.size());
    return v;
}

InitReport load_pretrained(const std::vector<NamedTensor>& targets, const InitOptions& o) {
    TorchLoadOptions topt;
    topt.key = o.key;
    WeightsFile file = read_weights_file(o.path, topt);
    DCODR_CHECK(o.key.empty() || file.format.rfind("pytorch", 0) == 0,
                "--init-key applies to PyTorch (.pth) files; '{}' is {}", o.path, file.format);
    NameRules rules;
    rules.prefix = o.prefix;
    rules.map = parse_name_map(o.map);
    InitReport r;
    r.path = o.path;
    r.format = file.format;
    r.key = file.key;

    std::map<std::string, const CheckpointTensor*> mapped;  // model name -> file tensor
    std::vector<std::string> mapped_order;
    for (const auto& t : file.tensors) {
        MappedName m = map_name(t.name, rules);
        if (m.name.empty()) {
            r.not_used.emplace_back(t.name, m.reason);
            continue;
        }
        auto [it, fresh] = mapped.emplace(m.name, &t);
        DCODR_CHECK(fresh, "'{}': tensors '{}' and '{}' both map to '{}'; use --init-prefix or --init-map", o.path,
                    it->second->name, t.name, m.name);
        mapped_order.push_back(m.name);
    }
    std::map<std::string, const Tensor*> model;
    for (const auto& nt : targets) model.emplace(nt.name, &nt.tensor);
    std::vector<std::pair<const Tensor*, const CheckpointTensor*>> copies;
    for (const auto& nt : targets) {
        auto it = mapped.find(nt.name);
        if (it == mapped.end()) {
            r.missing.push_back(nt.name);
            continue;
        }
        const CheckpointTensor& src = *it->second;
        DCODR_CHECK(src.tensor.shape() == nt.tensor.shape(), "'{}': tensor '{}' (for '{}') has shape {}, the model's is {}",
                    o.path, src.name, nt.name, shape_str(src.tensor.shape()), shape_str(nt.tensor.shape()));
        DCODR_CHECK(is_floating(src.tensor.dtype()) == is_floating(nt.tensor.dtype()),
                    "'{}': tensor '{}' (for '{}') is {}, the model's is {}", o.path, src.name, nt.name,
                    src.stored_dtype, dtype_name(nt.tensor.dtype()));
        copies.emplace_back(&nt.tensor, &src);
        r.loaded.push_back(nt.name);
    }
    for (const auto& name : mapped_order)
        if (!model.count(name)) r.unexpected.push_back(name);
    DCODR_CHECK(!r.loaded.empty(), "'{}': none of its {} tensors matches the model ({}); check --init-key, "
                "--init-prefix or --init-map (dcodr inspect lists the names)", o.path, file.tensors.size(),
                r.describe());
    DCODR_CHECK(!o.strict || r.missing.empty(), "--init-strict: '{}' lacks {} of the model's tensors: {}", o.path,
                r.missing.size(), list(r.missing, 20));
    for (auto& [dst, src] : copies) const_cast<Tensor&>(*dst).copy_(src->tensor);
    return r;
}

}  // namespace dcodr::nn
