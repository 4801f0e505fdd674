// make_tiny_encoder OUT.safetensors: the tests' small encoder file (tests/tiny_encoder.h), for
// tests/c_api_example.sh in an inference-only build, which has no `dcodr train`.
#include <cstdio>
#include <exception>

#include "tests/tiny_encoder.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_tiny_encoder OUT.safetensors\n");
        return 2;
    }
    try {
        dcodr::testing::write_tiny_encoder(argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_tiny_encoder: %s\n", e.what());
        return 1;
    }
    return 0;
}
