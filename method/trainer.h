// DCoDR-norec training: balanced domain batches (data/sampler.h), one augmented positive per image, the
// contrastive loss over two forward passes of the same encoder, Adam, StepLR; progress,
// a JSONL log, periodic atomic checkpoints and exact resume.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"
#include "method/contrastive_loss.h"
#include "method/reconstruction_loss.h"
#include "nn/dcodr_encoder.h"
#include "nn/generator.h"
#include "nn/json.h"
#include "nn/optim.h"
#include "nn/pretrained.h"

namespace dcodr::method {

// DCoDR with its decoder (the method's main variant): a generator rebuilds each clean image from
// its code and its domain's learned latent, trained jointly with the encoder from step 0.
struct ReconstructionConfig {
    bool enabled = false;
    double weight = 0.3;                 // L = L_contrastive + weight * L_rec
    std::int64_t gen_channels = 256;     // the generator's width (the paper's 256)
    std::int64_t domain_dim = 256;       // per-domain latent
    double gen_lr = 3e-4;                // generator + modulation
    double embedding_lr = 3e-3;          // domain embedding
    std::string perceptual = "auto";     // vgg16 | pixel | auto (vgg16 with weights, else the fallback)
    std::string perceptual_weights;      // VGG16 state dict, torchvision names
};

struct TrainConfig {
    nn::EncoderConfig encoder;
    ReconstructionConfig reconstruction;
    ContrastiveOptions loss;
    std::int64_t image_size = 64;
    std::int64_t domains_per_batch = 0;   // 0: min(4, domains in the data)
    std::int64_t images_per_domain = 32;
    // Which batches (data/sampler.h). Balanced batches come from `sampler` (authors | coverage);
    // the standard-contrastive baseline's from `baseline_batch`: shuffled (the authors': an
    // ordinary shuffled batch of baseline_batch_size images from all domains) or balanced.
    std::string sampler = "authors";
    std::string baseline_batch = "shuffled";
    std::int64_t baseline_batch_size = 64;
    std::string dataset_preset;           // the --dataset-preset the defaults came from ("" = none)
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
    // The two terms of DCoDR's loss (loss = contrastive + weight * reconstruction); without the
    // decoder, contrastive == loss and reconstruction is 0.
    double contrastive = 0, reconstruction = 0;
};

// The sampler a configuration trains with (checks the sampler fields, naming their flags).
data::SamplerOptions sampler_options(const TrainConfig& config);
// One line saying which batches a configuration trains on, e.g. "shuffled batches of 64 from
// all domains (63 negatives per anchor)" (the demo prints it under its table); n_domains, when
// known, resolves the default domains per batch.
std::string describe_batches(const TrainConfig& config, std::int64_t n_domains = 0);

// What the perceptual part of the reconstruction loss is when --perceptual is auto: VGG16 with
// the given ImageNet weights, else the fallback chosen by measurement (docs/results.md).
PerceptualOptions perceptual_options(const ReconstructionConfig& rec, std::uint64_t seed);

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
    // The decoder's weights (embedding, modulation, generator) with their module names.
    void save_decoder_weights(const std::string& path) const;

    nn::DcodrEncoder& encoder() { return *encoder_; }
    nn::DcodrDecoder* decoder() { return decoder_.get(); }  // null without --reconstruction
    std::int64_t steps_done() const { return step_; }
    std::int64_t total_steps() const;
    const TrainConfig& config() const { return config_; }

private:
    struct Impl;
    TrainConfig config_;
    const data::Dataset& data_;
    std::shared_ptr<nn::DcodrEncoder> encoder_;
    std::shared_ptr<nn::DcodrDecoder> decoder_;
    std::unique_ptr<Impl> impl_;
    std::int64_t step_ = 0;
};

// Builds an encoder (in eval mode) from a weights or checkpoint file written by Trainer;
// `config`, when given, receives the training configuration stored with it.
std::shared_ptr<nn::DcodrEncoder> load_encoder(const std::string& path, Device device, TrainConfig* config = nullptr);
// The generator side of a DCoDR checkpoint (or decoder.safetensors): embedding, modulation and
// generator, in eval mode. Throws, naming the file, when it was trained without --reconstruction.
std::shared_ptr<nn::DcodrDecoder> load_decoder(const std::string& path, Device device);
// The generator's configuration for a training configuration and data set.
nn::GeneratorConfig generator_config(const TrainConfig& config, std::int64_t n_domains, std::int64_t image_channels);

}  // namespace dcodr::method
