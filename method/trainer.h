// DCoDR-norec training: balanced domain batches, one augmented positive per image, the
// contrastive loss over two forward passes of the same encoder, Adam, StepLR; progress,
// a JSONL log, periodic atomic checkpoints and exact resume.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "method/contrastive_loss.h"
#include "nn/dcodr_encoder.h"
#include "nn/json.h"
#include "nn/optim.h"
#include "nn/pretrained.h"

namespace dcodr::method {

struct TrainConfig {
    nn::EncoderConfig encoder;
    ContrastiveOptions loss;
    std::int64_t image_size = 64;
    std::int64_t domains_per_batch = 0;   // 0: min(4, domains in the data)
    std::int64_t images_per_domain = 32;
    std::string augmentations = "blur,high_contrast,crop,high_saturation";
    double lr = 1e-4;                     // encoder learning rate (the method's)
    double beta1 = 0.5, beta2 = 0.999;
    std::int64_t epochs = 200;
    std::int64_t max_steps = 0;           // > 0: stop after this many steps (overrides epochs)
    std::int64_t lr_step_epochs = 30;
    double lr_gamma = 0.33;
    double clip_grad_norm = 0;            // > 0: clip the global gradient norm
    std::uint64_t seed = 0;
    Device device;
    std::string out_dir;                  // checkpoints and the log; empty = none
    std::int64_t checkpoint_every = 0;    // steps; 0 = at the end of each epoch
    std::int64_t log_every = 10;
    bool quiet = false;
    // Pretrained start (--init ...): applied once, before step 0, never on resume. Saved with
    // the configuration, so a checkpoint remembers where its start came from.
    nn::InitOptions init;

    json::Value to_json() const;
    static TrainConfig from_json(const json::Value& v);  // inverse of to_json (for resume)
};

struct StepRecord {
    std::int64_t step, epoch;
    double loss, lr, seconds;
};

class Trainer {
public:
    Trainer(TrainConfig config, const data::Dataset& train_set);
    ~Trainer();

    // Trains until the configured number of steps/epochs; returns the loss of every step run.
    std::vector<StepRecord> run();
    // Copies the weights of config().init.path into the encoder (a no-op without one) and
    // returns what was loaded; run() calls it before step 0 unless a caller did, or a
    // checkpoint was loaded.
    nn::InitReport initialize();
    // One step on the next batch (exposed for tests and benchmarks).
    StepRecord step();

    // Everything needed to continue exactly: weights, buffers, Adam moments, step, data cursor.
    void save_checkpoint(const std::string& path) const;
    void load_checkpoint(const std::string& path);
    // Plain encoder weights with their model names (opens with safetensors.torch.load_file).
    void save_weights(const std::string& path) const;

    nn::DcodrEncoder& encoder() { return *encoder_; }
    std::int64_t steps_done() const { return step_; }
    std::int64_t total_steps() const;
    const TrainConfig& config() const { return config_; }

private:
    struct Impl;
    TrainConfig config_;
    const data::Dataset& data_;
    std::shared_ptr<nn::DcodrEncoder> encoder_;
    std::unique_ptr<Impl> impl_;
    std::int64_t step_ = 0;
};

// Builds an encoder (in eval mode) from a weights or checkpoint file written by Trainer;
// `config`, when given, receives the training configuration stored with it.
std::shared_ptr<nn::DcodrEncoder> load_encoder(const std::string& path, Device device, TrainConfig* config = nullptr);

}  // namespace dcodr::method
