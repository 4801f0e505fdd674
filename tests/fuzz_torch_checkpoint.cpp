// Long-running mutation fuzzer for the PyTorch checkpoint reader, for sanitizer builds; not
// part of `meson test` (tests/test_torch_checkpoint.cpp runs a short version of it). Build
// the reader instrumented and the rest from an existing build, then run:
//   F="-std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. -march=x86-64-v3"
//   for s in nn/pickle.cpp nn/torch_checkpoint.cpp data/inflate.cpp data/zip.cpp tests/fuzz_torch_checkpoint.cpp; do
//       g++ $F -c $s -o /tmp/fz_$(basename $s).o; done
//   g++ -fsanitize=address,undefined -o /tmp/fz /tmp/fz_*.o build/libdcodr.a -lfmt -fopenmp -lpthread
//   /tmp/fz SEED ITERATIONS tests/fixtures/torch/misc_legacy.pth tests/fixtures/torch/misc_zip.pth ...
// Every mutated file must either load or throw dcodr::Error; a crash or a sanitizer report
// is a bug. docs/pytorch-checkpoints.md has the last run's numbers.
#include <fstream>
#include <iostream>
#include <random>
#include "nn/torch_checkpoint.h"
#include "data/inflate.h"
using namespace dcodr;
int main(int argc, char** argv) {
    std::mt19937_64 rng(std::stoull(argv[1]));
    int iters = std::stoi(argv[2]);
    long loaded = 0, refused = 0;
    for (int f = 3; f < argc; ++f) {
        std::ifstream in(argv[f], std::ios::binary);
        std::string orig{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        for (int it = 0; it < iters; ++it) {
            std::string b = orig;
            int n = 1 + rng() % 4;
            for (int m = 0; m < n && !b.empty(); ++m) {
                auto pos = [&] { return static_cast<std::size_t>(rng() % b.size()); };
                switch (rng() % 6) {
                    case 0: b[pos()] ^= static_cast<char>(1u << (rng() % 8)); break;
                    case 1: b[pos()] = static_cast<char>(rng()); break;
                    case 2: if (rng() % 4 == 0) b.resize(pos()); break;
                    case 3: b.insert(pos(), std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
                    case 4: b.erase(pos(), 1 + rng() % 8); break;
                    default:
                        if (b.size() > 8) {
                            std::size_t p = pos() % (b.size() - 4);
                            const char* vals[] = {"\xff\xff\xff\x7f", "\x00\x00\x00\x80", "\xff\xff\xff\xff", "\x00\x00\x00\x00"};
                            b.replace(p, 4, vals[rng() % 4], 4);
                        }
                }
            }
            try {
                nn::TorchLoadOptions o;
                o.auto_key = rng() % 2;
                auto c = nn::parse_torch_checkpoint(b, o, "fuzz");
                ++loaded;
            } catch (const Error&) {
                ++refused;
            }
        }
    }
    std::cout << "loaded " << loaded << " refused " << refused << "\n";
}
