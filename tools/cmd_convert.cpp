// dcodr convert / inspect: PyTorch checkpoints (and any weights file) to safetensors, and a
// listing of what a weights file holds.
#include <fmt/format.h>
#include <iostream>
#include <set>

#include "nn/pretrained.h"
#include "nn/safetensors.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace dcodr::tools {

namespace {

// The weights file comes first, without a flag: dcodr convert FILE --out ...
std::string take_file(int& argc, char**& argv, const char* command) {
    if (argc > 0 && argv[0][0] != '-') {
        std::string f = argv[0];
        ++argv;
        --argc;
        return f;
    }
    for (int i = 0; i < argc; ++i)
        if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") return "";
    usage_error("expected a weights file first: dcodr {} FILE [options]", command);
}

}  // namespace

int cmd_convert(int argc, char** argv) {
    const std::string file = take_file(argc, argv, "convert");
    Args a("convert",
           "dcodr convert FILE --out x.safetensors (FILE first, then the options).\n"
           "Convert a PyTorch checkpoint (torch.save, zip or legacy layout; no Python needed) or any weights file\n"
           "dcodr reads to a safetensors file that dcodr and PyTorch (safetensors.torch.load_file) both open.\n"
           "Float16/bfloat16 become float32 (unless --dtype), small integer types int64. A .safetensors input keeps\n"
           "its metadata, so an encoder.safetensors converted with --dtype f16 still opens with dcodr encode.",
           argc, argv);
    a.option("out", "", "output .safetensors file (required)");
    a.option("key", "", "where the state dict sits in a .pth, keys joined by '/' (default: its 'state_dict' or "
                        "'model' entry, else everything)");
    a.option("names", "keep", "keep: the file's names; torchvision: wrapper prefixes (module., encoder_q., ...) "
                              "removed; dcodr: the names dcodr train --init maps to (docs/pytorch-checkpoints.md)");
    a.option("prefix", "", "with --names dcodr/torchvision: use only names under this prefix, with it removed");
    a.option("map", "", "with --names dcodr/torchvision: prefix renames FROM=TO[,FROM=TO...]");
    a.option("dtype", "f32", "how float tensors are stored: f32, f16 or bf16 (half the bytes, for inference; "
                             "converted back to float32 when loaded; docs/embedding.md has the accuracy cost)");
    if (a.parse()) return 0;
    if (a.str("out").empty()) usage_error("--out is required");
    const std::string dtype = a.str("dtype");
    if (dtype != "f32" && dtype != "f16" && dtype != "bf16") usage_error("--dtype must be f32, f16 or bf16, got '{}'", dtype);
    const nn::FloatStorage storage = dtype == "f16"    ? nn::FloatStorage::f16
                                     : dtype == "bf16" ? nn::FloatStorage::bf16
                                                       : nn::FloatStorage::f32;
    nn::TorchLoadOptions opt;
    opt.key = a.str("key");
    nn::WeightsFile w = nn::read_weights_file(file, opt);
    // A training checkpoint resumed from rounded weights and Adam moments would not continue the
    // run it claims to; its encoder.safetensors is what inference wants.
    DCODR_CHECK(storage == nn::FloatStorage::f32 || !w.metadata.count("dcodr.kind") ||
                    w.metadata.at("dcodr.kind") != "checkpoint",
                "dcodr convert: --dtype {} on the training checkpoint '{}' is refused (a resumed run would continue "
                "from rounded weights and optimiser moments); convert its encoder.safetensors instead", dtype, file);
    nn::NameRules rules;
    rules.target = nn::parse_name_target(a.str("names"));
    rules.prefix = a.str("prefix");
    rules.map = nn::parse_name_map(a.str("map"));
    std::vector<nn::NamedTensor> out;
    std::set<std::string> seen;
    std::size_t dropped = 0;
    for (const auto& t : w.tensors) {
        nn::MappedName m = nn::map_name(t.name, rules);
        if (m.name.empty()) {
            std::cerr << fmt::format("not converted: {} ({})\n", t.name, m.reason);
            ++dropped;
            continue;
        }
        DCODR_CHECK(seen.insert(m.name).second, "two tensors map to '{}'; use --prefix or --map",
                    m.name);
        out.push_back({m.name, t.tensor});
    }
    DCODR_CHECK(!out.empty(), "no tensors to write from '{}'", file);
    nn::SafetensorsMetadata meta = w.metadata;  // a .safetensors input's (dcodr.config, ...); empty otherwise
    meta["format"] = "pt";
    meta["dcodr.converted_from"] = file;
    if (storage != nn::FloatStorage::f32) meta["dcodr.stored_dtype"] = dtype == "f16" ? "F16" : "BF16";
    else meta.erase("dcodr.stored_dtype");
    if (!w.key.empty()) meta["dcodr.key"] = w.key;
    nn::save_safetensors(a.str("out"), out, meta, storage);
    std::cerr << fmt::format("wrote {} tensors to {} (from {}, {}{}; {} not converted; floats as {})\n", out.size(),
                             a.str("out"), file, w.format, w.key.empty() ? "" : ", key '" + w.key + "'", dropped,
                             dtype);
    return 0;
}

int cmd_inspect(int argc, char** argv) {
    const std::string file = take_file(argc, argv, "inspect");
    Args a("inspect",
           "dcodr inspect FILE (FILE first, then the options).\n"
           "List the tensors of a weights file (.pth/.pt/.pth.tar from torch.save, .safetensors, .npz): name, dtype\n"
           "as stored, shape and bytes; for a .pth also its other entries (epoch, arch, ...).",
           argc, argv);
    a.option("key", "", "a .pth: list only what is under this key path (keys joined by '/')");
    if (a.parse()) return 0;
    nn::TorchLoadOptions opt;
    opt.key = a.str("key");
    opt.auto_key = false;
    nn::WeightsFile w = nn::read_weights_file(file, opt);
    std::size_t width = 4;
    for (const auto& t : w.tensors) width = std::max(width, t.name.size());
    std::int64_t total = 0, elements = 0;
    std::cout << fmt::format("{}: {}{}, {} tensors\n", file, w.format, w.key.empty() ? "" : ", key '" + w.key + "'",
                             w.tensors.size());
    std::cout << fmt::format("{:<{}}  {:<5}  {:<18}  {:>12}\n", "name", width, "dtype", "shape", "bytes");
    for (const auto& t : w.tensors) {
        std::cout << fmt::format("{:<{}}  {:<5}  {:<18}  {:>12}\n", t.name, width, t.stored_dtype,
                                 shape_str(t.tensor.shape()), t.stored_bytes);
        total += t.stored_bytes;
        elements += t.tensor.numel();
    }
    std::cout << fmt::format("total: {} elements, {} bytes\n", elements, total);
    for (const auto& o : w.others) std::cout << "other: " << o << "\n";
    return 0;
}

}  // namespace dcodr::tools
