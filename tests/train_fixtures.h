// Small, fast training set-ups shared by the training tests.
#pragma once
#include "data/synthetic.h"
#include "method/trainer.h"

namespace dcodr::testing {

// A tiny synthetic set (domain = shape) and a config small enough for a 2-core CI machine.
inline data::Dataset tiny_shapes(std::int64_t n, std::uint64_t seed = 3) {
    return data::shapes::generate(n, seed);
}
inline method::TrainConfig tiny_config(method::ContrastiveMode mode, std::int64_t steps) {
    method::TrainConfig c;
    c.encoder = {18, 0.125, 64, 32, false};
    c.loss.mode = mode;
    c.loss.tau = 0.1;
    c.image_size = 16;
    c.images_per_domain = 8;
    c.baseline_batch_size = 32;  // the standard baseline's shuffled batches: as large as 4 x 8
    c.lr = 1e-3;
    c.max_steps = steps;
    c.quiet = true;
    c.seed = 5;
    return c;
}

// The same with DCoDR's decoder: a narrow generator and the pixel reconstruction loss (VGG16
// needs 32-pixel images; its path has its own tests).
inline method::TrainConfig tiny_decoder_config(std::int64_t steps) {
    method::TrainConfig c = tiny_config(method::ContrastiveMode::domain_wise, steps);
    c.reconstruction.enabled = true;
    c.reconstruction.gen_channels = 16;
    c.reconstruction.domain_dim = 16;
    c.reconstruction.perceptual = "pixel";
    // The embedding's rate scaled as tiny_config scales the encoder's (1e-4 -> 1e-3); the
    // generator's as the authors' --gen-lr does, equal to the encoder's.
    c.reconstruction.gen_lr = 1e-3;
    c.reconstruction.embedding_lr = 3e-2;
    return c;
}

}  // namespace dcodr::testing
