// dcodr: train, evaluate and use DCoDR encoders from the command line.
#include <cstring>
#include <iostream>

#include "tensor/backend.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/version.h"

namespace {

#ifdef DCODR_INFERENCE_ONLY
// meson -Dinference_only=true: the encoder as a component (docs/embedding.md).
const char* kUsage =
    "dcodr (inference-only build): encode images with a trained DCoDR encoder\n"
    "\n"
    "usage: dcodr <command> [options]   (dcodr <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  encode          images -> codes (.npy)\n"
    "  version         build information\n";
#else
const char* kUsage =
    "dcodr: domain-wise contrastive disentanglement (DCoDR, Kahana & Hoshen, ECCV 2022)\n"
    "\n"
    "usage: dcodr <command> [options]   (dcodr <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  demo            train DCoDR, DCoDR-norec and the contrastive baseline on built-in data, compare them\n"
    "  train           train an encoder (and with --reconstruction its decoder) on images with domain labels\n"
    "  eval            invariance / informativeness probes and retrieval for an encoder\n"
    "  encode          images -> codes (.npy)\n"
    "  translate       domain-swap grid and reconstructions of a DCoDR model (--reconstruction)\n"
    "  generate-data   write the built-in synthetic Shapes3D-like data set (.npz or PNG + CSV)\n"
    "  convert         a PyTorch checkpoint (.pth, no Python needed) -> .safetensors\n"
    "  inspect         list the tensors of a .pth / .safetensors / .npz file\n"
    "  bench           bench ops | bench step: kernel and training-step benchmarks\n"
    "  version         version, backends compiled in, build type (also: dcodr --version)\n"
    "\n"
    "exit codes: 0 success, 1 failure (bad file, data, device, ...), 2 wrong command line\n";
#endif

}  // namespace

int main(int argc, char** argv) {
    using namespace dcodr::tools;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        (argc < 2 ? std::cerr : std::cout) << kUsage;
        return argc < 2 ? 2 : 0;
    }
    std::string cmd = argv[1];
    int n = argc - 2;
    char** rest = argv + 2;
    // Every failure is reported once, as "dcodr <command>: error: <what>"; exit code 2 for a
    // wrong command line (UsageError), 1 for anything else (README, "Exit codes").
    try {
        if (cmd == "encode") return cmd_encode(n, rest);
#ifndef DCODR_INFERENCE_ONLY
        if (cmd == "demo") return cmd_demo(n, rest);
        if (cmd == "train") return cmd_train(n, rest);
        if (cmd == "eval") return cmd_eval(n, rest);
        if (cmd == "translate") return cmd_translate(n, rest);
        if (cmd == "generate-data") return cmd_generate_data(n, rest);
        if (cmd == "bench") return cmd_bench(n, rest);
        if (cmd == "convert") return cmd_convert(n, rest);
        if (cmd == "inspect") return cmd_inspect(n, rest);
#endif
        if (cmd == "version" || cmd == "--version") {
            if (n > 0) usage_error("takes no arguments, got '{}'", rest[0]);
            std::cout << version_text() << "CPU threads: " << dcodr::num_threads() << "\n";
            return 0;
        }
        std::cerr << "dcodr: error: unknown command '" << cmd << "'\n\n" << kUsage;
        return 2;
    } catch (const UsageError& e) {
        std::cerr << "dcodr " << cmd << ": error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "dcodr " << cmd << ": error: " << e.what() << "\n";
        return 1;
    }
}
