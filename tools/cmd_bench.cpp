// dcodr bench ops | step | augment: dispatches to the benchmarks declared in tools/bench.h.
#include <iostream>
#include <string>

#include "tools/args.h"
#include "tools/bench.h"
#include "tools/commands.h"

namespace dcodr::tools {

int cmd_bench(int argc, char** argv) {
    std::string what = argc > 0 ? argv[0] : "";
    if (what == "ops") return bench_ops_main(argc, argv);
    if (what == "step") return bench_step_main(argc - 1, argv + 1);
    if (what == "augment") return bench_augment_main(argc - 1, argv + 1);
    const char* usage =
        "usage: dcodr bench ops [--repeats N] [--threads N] [--quick]\n"
        "       dcodr bench step [train options] [--device cuda] [--repeats N] [--profile N]\n"
        "       dcodr bench augment [--batch N] [--threads N] [--augmentations LIST]\n";
    if (what == "--help" || what == "-h") {
        std::cout << usage;
        return 0;
    }
    std::cerr << usage << "\n";
    if (what.empty()) usage_error("which benchmark? ops, step or augment");
    usage_error("unknown benchmark '{}': expected ops, step or augment", what);
}

}  // namespace dcodr::tools
