#include "method/trainer.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <utility>

#include "data/augment.h"
#include "data/prefetch.h"
#include "data/sampler.h"
#include "method/checkpoint_guards.h"
#include "method/run_folder.h"
#include "method/train_options.h"
#include "method/encoder_file.h"
#include "nn/finite_check.h"
#include "nn/init.h"
#include "nn/safetensors.h"
#include "nn/state_dict.h"

namespace dcodr::method {

namespace {
using Clock = std::chrono::steady_clock;

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    int total = static_cast<int>(s + 0.5);
    if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total / 60 % 60);
    if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
    return fmt::format("{}s", total);
}

// Which output of the encoder is its code, in the metadata of the files it is saved in
// ("dcodr.code"), for their readers (load_encoder): the head's when there is one.
const char* code_output(const nn::EncoderConfig& e) { return e.head ? "head" : "projection"; }

}  // namespace

// The fields and their keys are the option table's (method/train_options.cpp).
json::Value TrainConfig::to_json() const {
    json::Value v = json::Value::object();
    for (const auto& o : train_options()) v[o.key] = o.get(*this);
    return v;
}

TrainConfig TrainConfig::from_json(const json::Value& v) {
    TrainConfig c;
    // Options added after the first checkpoints (the decoder's, --init*, ...) may be absent: defaults.
    set_train_options(c, v, "training configuration", /*reject_unknown=*/false, /*require_all=*/true);
    if (!v.contains("sampler")) {  // written before the authors' sampler existed: its batches were these
        c.sampler = "coverage";
        c.baseline_batch = "balanced";
    }
    return c;
}

data::SamplerOptions sampler_options(const TrainConfig& c) {
    DCODR_CHECK(c.sampler == "authors" || c.sampler == "coverage",
                "--sampler must be authors or coverage, got '{}'", c.sampler);
    DCODR_CHECK(c.baseline_batch == "shuffled" || c.baseline_batch == "balanced",
                "--baseline-batch must be shuffled or balanced, got '{}'", c.baseline_batch);
    data::SamplerOptions o;
    const bool shuffled = c.loss.mode == ContrastiveMode::standard && c.baseline_batch == "shuffled";
    o.kind = shuffled ? data::SamplerKind::shuffled : data::parse_sampler_kind(c.sampler);
    o.domains_per_batch = c.domains_per_batch;
    o.images_per_domain = c.images_per_domain;
    o.batch_size = c.baseline_batch_size;
    o.seed = c.seed;
    return o;
}

std::string describe_batches(const TrainConfig& c, std::int64_t n_domains) {
    const data::SamplerOptions o = sampler_options(c);
    if (o.kind == data::SamplerKind::shuffled)
        return fmt::format("shuffled batches of {} from all domains ({} negatives per anchor, the authors' baseline)",
                           o.batch_size, o.batch_size - 1);
    const std::string k = o.domains_per_batch > 0 ? std::to_string(o.domains_per_batch)
                          : n_domains > 0       ? std::to_string(data::default_domains_per_batch(n_domains))
                                                : "min(4, domains)";
    return fmt::format("balanced batches of {} domains x {} images ({} sampler)", k, o.images_per_domain,
                       data::sampler_kind_name(o.kind));
}

PerceptualOptions perceptual_options(const ReconstructionConfig& rec, std::uint64_t seed) {
    PerceptualOptions o;
    o.seed = seed;
    o.weights = rec.perceptual_weights;
    if (rec.perceptual == "auto") {
        // With ImageNet weights: the paper's VGG16 loss. Without: the measured fallback
        // (docs/results.md, "Without ImageNet VGG16 weights").
        o.mode = rec.perceptual_weights.empty() ? kPerceptualFallback : PerceptualMode::vgg16;
    } else {
        o.mode = parse_perceptual_mode(rec.perceptual);
    }
    DCODR_CHECK(o.weights.empty() || o.mode == PerceptualMode::vgg16,
                "--perceptual-weights {} given with --perceptual {}: the weights are VGG16's", o.weights,
                rec.perceptual);
    return o;
}

nn::GeneratorConfig generator_config(const TrainConfig& config, std::int64_t n_domains, std::int64_t image_channels) {
    nn::GeneratorConfig g;
    g.code_dim = config.encoder.code_dim;
    g.n_domains = n_domains;
    g.domain_dim = config.reconstruction.domain_dim;
    g.channels = config.reconstruction.gen_channels;
    g.image_size = config.image_size;
    g.image_channels = image_channels;
    return g;
}

struct Trainer::Impl {
    std::unique_ptr<data::BatchSampler> sampler;
    std::unique_ptr<data::Augmenter> augmenter;
    std::unique_ptr<nn::Adam> adam;
    std::unique_ptr<nn::StepLR> schedule;
    std::unique_ptr<data::Prefetcher<data::TrainBatch>> prefetch;
    // The next batch, taken from the prefetcher with its upload to the device already queued.
    struct Staged {
        data::TrainBatch batch;
        Tensor views;  // batch.views on the training device: clean images, then their positives
    };
    std::optional<Staged> staged;
    std::exception_ptr staging_error;  // from taking the next batch early: raised when it is needed
    std::ofstream log;
    data::SamplerState next_state;  // sampler position after the last consumed batch
    std::unique_ptr<ReconstructionLoss> reconstruction;  // with the decoder only
    bool initialized = false;       // config.init applied, or weights came from a checkpoint
    std::string init_summary;       // InitReport as JSON, kept in checkpoints ("dcodr.init")
};

Trainer::Trainer(TrainConfig config, const data::Dataset& train_set)
    : config_(std::move(config)), data_(train_set), impl_(std::make_unique<Impl>()) {
    data_.validate();
    DCODR_CHECK(data_.n_domains >= 2, "{}: training needs at least 2 domains, found {}", data_.source,
                data_.n_domains);
    nn::manual_seed(config_.seed);
    encoder_ = std::make_shared<nn::DcodrEncoder>(config_.encoder);
    encoder_->to(config_.device);
    // Built after the encoder, so the encoder starts from the same weights with or without it.
    const auto& rec = config_.reconstruction;
    if (rec.enabled) {
        DCODR_CHECK(rec.weight >= 0 && std::isfinite(rec.weight), "--reconstruction-weight must be >= 0, got {}",
                    rec.weight);
        decoder_ = std::make_shared<nn::DcodrDecoder>(generator_config(config_, data_.n_domains, data_.channels));
        decoder_->to(config_.device);
        PerceptualOptions po = perceptual_options(rec, config_.seed);
        DCODR_CHECK(po.mode != PerceptualMode::vgg16 || config_.image_size >= 32,
                    "--perceptual vgg16 needs --image-size of at least 32 (VGG16 pools five times), got {}",
                    config_.image_size);
        impl_->reconstruction = std::make_unique<ReconstructionLoss>(po, config_.device);
        if (!config_.quiet) std::cerr << impl_->reconstruction->describe() << "\n";
    }
    impl_->sampler = data::make_sampler(data_.domains, data_.n_domains, sampler_options(config_));
    impl_->augmenter =
        std::make_unique<data::Augmenter>(data::parse_augmentations(config_.augmentations), config_.seed + 1);
    // One Adam, one group per learning rate (the method's): encoder, generator + modulation, domain
    // embedding. Decoder names carry a "decoder." prefix, as in the checkpoint.
    std::vector<nn::Adam::Group> groups{{encoder_->named_parameters(), config_.lr}};
    if (decoder_) {
        auto prefixed = [](std::vector<nn::NamedTensor> ps) {
            for (auto& p : ps) p.name = "decoder." + p.name;
            return ps;
        };
        groups.push_back({prefixed(decoder_->generator_parameters()), rec.gen_lr});
        groups.push_back({prefixed(decoder_->embedding_parameters()), rec.embedding_lr});
    }
    impl_->adam = std::make_unique<nn::Adam>(std::move(groups), config_.beta1, config_.beta2);
    impl_->schedule = std::make_unique<nn::StepLR>(*impl_->adam, config_.lr_step_epochs, config_.lr_gamma);
    if (!config_.out_dir.empty()) std::filesystem::create_directories(config_.out_dir);
}

Trainer::~Trainer() = default;

std::int64_t Trainer::total_steps() const {
    return config_.max_steps > 0 ? config_.max_steps : config_.epochs * impl_->sampler->batches_per_epoch();
}

StepRecord Trainer::step() {
    if (!impl_->prefetch) {
        // Started lazily so a checkpoint loaded after construction sets the cursor first. The
        // source works on its own copy of the sampler, from that cursor on.
        data::ImageFormat fmt{config_.image_size, config_.image_size, 3};
        impl_->prefetch = std::make_unique<data::Prefetcher<data::TrainBatch>>(
            data::TrainBatchSource(data_, *impl_->sampler, impl_->augmenter.get(), fmt, num_threads()));
    }
    auto stage_next = [this] {
        Impl::Staged s{impl_->prefetch->next(), Tensor()};
        s.views = s.batch.views.to(config_.device);
        return s;
    };
    auto t0 = Clock::now();
    if (impl_->staging_error) std::rethrow_exception(std::exchange(impl_->staging_error, nullptr));
    Impl::Staged cur = impl_->staged ? std::move(*impl_->staged) : stage_next();
    impl_->staged.reset();
    const data::TrainBatch& prep = cur.batch;
    impl_->next_state = prep.state_after;
    impl_->schedule->set_epoch(prep.batch.epoch);
    encoder_->train();
    // The method's two passes (clean, then augmented; batch-norm statistics per pass) as one
    // pass over both with statistics per half: the same numbers, half the launches and no
    // second set of parameter gradients to add (nn::BatchStatsGroups).
    Tensor codes;
    {
        nn::BatchStatsGroups per_view(2);
        codes = l2_normalize(encoder_->forward(cur.views), 1);
    }
    const std::int64_t b = codes.size(0) / 2;
    Tensor z = slice(codes, 0, 0, b);
    Tensor p = slice(codes, 0, b, 2 * b);
    // The image indices let the loss drop an image's copies from its negatives (padded domains).
    Tensor contrastive = contrastive_loss(z, p, prep.batch.domains, config_.loss, prep.batch.indices);
    Tensor loss = contrastive, reconstruction;
    if (decoder_) {
        // DCoDR: rebuild each clean image from its normalised code and its domain's latent.
        decoder_->train();
        Tensor clean = slice(cur.views, 0, 0, b);
        // Grey data sets: the loader tiles grey to 3 channels for the encoder; the generator
        // draws the one channel.
        if (decoder_->config().image_channels == 1) clean = slice(clean, 1, 0, 1);
        Tensor domains = Tensor::from_vector(prep.batch.domains, {b}).to(config_.device);
        reconstruction = (*impl_->reconstruction)(decoder_->forward(z, domains), clean);
        loss = add(contrastive, mul_scalar(reconstruction, config_.reconstruction.weight));
    }
    impl_->adam->zero_grad();
    backward(loss);
    // While a GPU runs this step's kernels, take the next batch and queue its upload: the host's
    // copy into the upload buffers then overlaps the backward pass instead of delaying the next
    // step's first kernel. (The checkpointed sampler position stays that of the batch trained;
    // a failure to make that batch belongs to the next step and is raised there.)
    if (step_ + 1 < total_steps()) {
        try {
            impl_->staged = stage_next();
        } catch (...) {
            impl_->staging_error = std::current_exception();
        }
    }
    // One read from the device per step: the loss, with DCoDR's two terms beside it.
    std::vector<double> values = decoder_ ? stack({loss, contrastive, reconstruction}, 0).to_vector()
                                          : std::vector<double>{loss.item()};
    const double loss_value = values[0];
    DCODR_CHECK(std::isfinite(loss_value), "training diverged: loss is {} at step {} (lower the learning rate?); "
                "the last checkpoint is untouched", loss_value, step_ + 1);
    if (config_.clip_grad_norm > 0) {
        std::vector<Tensor> params = encoder_->parameters();
        if (decoder_)
            for (auto& t : decoder_->parameters()) params.push_back(t);
        nn::clip_grad_norm(params, config_.clip_grad_norm);
    }
    impl_->adam->step();
    ++step_;
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    StepRecord r{step_, prep.batch.epoch, loss_value, impl_->adam->groups()[0].lr, secs};
    r.contrastive = decoder_ ? values[1] : loss_value;
    r.reconstruction = decoder_ ? values[2] : 0.0;
    return r;
}

nn::InitReport Trainer::initialize() {
    DCODR_CHECK(step_ == 0 && !impl_->initialized, "initialize: only once, before the first step");
    impl_->initialized = true;
    if (config_.init.path.empty()) return {};
    nn::InitReport r = nn::load_pretrained(encoder_->state_dict(), config_.init);
    impl_->init_summary = r.to_json().dump();
    return r;
}

std::vector<StepRecord> Trainer::run() {
    if (step_ == 0 && !impl_->initialized) {
        nn::InitReport r = initialize();
        if (!config_.quiet && !r.path.empty()) std::cerr << r.describe() << "\n";
    }
    std::vector<StepRecord> records;
    const std::int64_t total = total_steps();
    const std::int64_t batch = impl_->sampler->batch_size();
    if (!config_.out_dir.empty() && !impl_->log.is_open()) {
        // The log holds the steps up to where this run starts: after a resume, not the ones the
        // interrupted run logged past its last checkpoint (they are trained again now).
        const std::string log = config_.out_dir + "/train_log.jsonl";
        const std::int64_t dropped = trim_train_log(log, step_);
        if (dropped > 0 && !config_.quiet)
            std::cerr << fmt::format("note: {}: removed {} line(s) after step {}, where this run continues\n", log,
                                     dropped, step_);
        impl_->log.open(log, std::ios::app);
    }
    auto start = Clock::now();
    std::int64_t first_step = step_;
    const std::int64_t per_epoch = impl_->sampler->batches_per_epoch();
    while (step_ < total) {
        StepRecord r = step();
        records.push_back(r);
        double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        double ips = static_cast<double>((step_ - first_step) * batch) / std::max(elapsed, 1e-9);
        double eta = elapsed / static_cast<double>(step_ - first_step) * static_cast<double>(total - step_);
        if (impl_->log.is_open()) {
            json::Value line = json::Value::object();
            line["step"] = r.step;
            line["epoch"] = r.epoch;
            line["loss"] = r.loss;
            if (decoder_) {
                line["loss_contrastive"] = r.contrastive;
                line["loss_reconstruction"] = r.reconstruction;
            }
            line["lr"] = r.lr;
            line["step_seconds"] = r.seconds;
            line["images_per_second"] = ips;
            impl_->log << line.dump() << "\n";
            impl_->log.flush();
        }
        if (!config_.quiet && (step_ % config_.log_every == 0 || step_ == total))
            std::cerr << fmt::format("[{}] step {}/{} epoch {} loss {:.4f}{} lr {:.2e} | {:.1f} img/s | ETA {}\n",
                                     decoder_ ? "dcodr" : contrastive_mode_name(config_.loss.mode), step_, total,
                                     r.epoch, r.loss,
                                     decoder_ ? fmt::format(" (contrastive {:.4f}, rec {:.4f})", r.contrastive,
                                                            r.reconstruction)
                                              : "",
                                     r.lr, ips, format_duration(eta));
        bool epoch_end = step_ % per_epoch == 0;
        bool due = config_.checkpoint_every > 0 ? step_ % config_.checkpoint_every == 0 : epoch_end;
        if (!config_.out_dir.empty() && (due || step_ == total))
            save_checkpoint(config_.out_dir + "/checkpoint.safetensors");
    }
    if (!config_.out_dir.empty()) save_weights(config_.out_dir + "/encoder.safetensors");
    if (!config_.out_dir.empty() && decoder_) save_decoder_weights(config_.out_dir + "/decoder.safetensors");
    return records;
}

void Trainer::save_checkpoint(const std::string& path) const {
    std::vector<nn::NamedTensor> tensors;
    for (auto& nt : encoder_->state_dict()) tensors.push_back({"model." + nt.name, nt.tensor});
    if (decoder_)
        for (auto& nt : decoder_->state_dict()) tensors.push_back({"decoder." + nt.name, nt.tensor});
    for (auto& nt : impl_->adam->state()) tensors.push_back({"optim." + nt.name, nt.tensor});
    nn::SafetensorsMetadata meta;
    meta["dcodr.kind"] = "checkpoint";
    meta["dcodr.code"] = code_output(config_.encoder);
    meta["dcodr.step"] = std::to_string(step_);
    meta["dcodr.sampler_epoch"] = std::to_string(impl_->next_state.epoch);
    meta["dcodr.sampler_position"] = std::to_string(impl_->next_state.position);
    meta["dcodr.sampler"] = data::sampler_kind_name(sampler_options(config_).kind);
    meta["dcodr.config"] = config_.to_json().dump();
    if (!impl_->init_summary.empty()) meta["dcodr.init"] = impl_->init_summary;
    write_checkpoint_guards(meta, data_);
    nn::save_safetensors(path, tensors, meta);  // atomic: temp file + rename
}

void Trainer::save_decoder_weights(const std::string& path) const {
    DCODR_CHECK(decoder_, "save_decoder_weights: trained without --reconstruction, there is no decoder");
    nn::SafetensorsMetadata meta;
    meta["dcodr.kind"] = "decoder";
    meta["dcodr.config"] = config_.to_json().dump();
    meta["format"] = "pt";
    nn::save_safetensors(path, decoder_->state_dict(), meta);
}

void Trainer::save_weights(const std::string& path) const {
    nn::SafetensorsMetadata meta;
    meta["dcodr.kind"] = "encoder";
    meta["dcodr.code"] = code_output(config_.encoder);
    meta["dcodr.config"] = config_.to_json().dump();
    meta["format"] = "pt";
    if (!impl_->init_summary.empty()) meta["dcodr.init"] = impl_->init_summary;
    nn::save_safetensors(path, encoder_->state_dict(), meta);
}

static std::int64_t meta_int(const nn::SafetensorsContent& c, const std::string& path, const std::string& key) {
    auto it = c.metadata.find(key);
    DCODR_CHECK(it != c.metadata.end(), "{}: not a dcodr checkpoint (metadata field '{}' missing)", path, key);
    return checkpoint_int(c.metadata, path, key, 0, std::int64_t{1} << 50);
}

void Trainer::load_checkpoint(const std::string& path) {
    DCODR_CHECK(!impl_->prefetch, "load_checkpoint: must be called before training starts");
    nn::SafetensorsContent c = nn::load_safetensors(path);
    check_checkpoint_guards(c.metadata, data_, path);
    // The cursor means something only to the sampler that wrote it. Checkpoints written before
    // there was a choice name none: theirs was the coverage sampler. (A file without a cursor is
    // no checkpoint; the checks below say what it lacks.)
    const auto kind = c.metadata.find("dcodr.sampler");
    const std::string saved_sampler = kind != c.metadata.end() ? kind->second : "coverage";
    const std::string sampler = data::sampler_kind_name(sampler_options(config_).kind);
    DCODR_CHECK(!c.metadata.count("dcodr.sampler_position") || saved_sampler == sampler,
                "{}: its batches came from the {} sampler, this run's would come from the {} one (set by --sampler, "
                "--baseline-batch and --loss); resume with the settings it was trained with",
                path, saved_sampler, sampler);
    nn::require_finite(c.tensors, path);
    std::vector<nn::NamedTensor> model, decoder, optim;
    for (auto& nt : c.tensors) {
        if (nt.name.rfind("model.", 0) == 0) model.push_back({nt.name.substr(6), nt.tensor});
        else if (nt.name.rfind("decoder.", 0) == 0) decoder.push_back({nt.name.substr(8), nt.tensor});
        else if (nt.name.rfind("optim.", 0) == 0) optim.push_back({nt.name.substr(6), nt.tensor});
    }
    nn::load_state_dict(encoder_->state_dict(), model, true, path);
    DCODR_CHECK(decoder_ || decoder.empty(), "{}: holds a decoder (trained with --reconstruction); resume it with "
                "--reconstruction", path);
    DCODR_CHECK(!decoder_ || !decoder.empty(), "{}: has no decoder (trained without --reconstruction); it cannot "
                "resume a run with --reconstruction", path);
    if (decoder_) nn::load_state_dict(decoder_->state_dict(), decoder, true, path);
    impl_->adam->load_state(optim);
    step_ = meta_int(c, path, "dcodr.step");
    impl_->next_state = {meta_int(c, path, "dcodr.sampler_epoch"), meta_int(c, path, "dcodr.sampler_position")};
    impl_->sampler->restore(impl_->next_state);
    impl_->initialized = true;  // the weights are the checkpoint's: --init does not apply again
    auto init = c.metadata.find("dcodr.init");
    if (init != c.metadata.end()) impl_->init_summary = init->second;
}

std::shared_ptr<nn::DcodrEncoder> load_encoder(const std::string& path, Device device, TrainConfig* config_out) {
    LoadedEncoder loaded = load_encoder_file(path, device);  // method/encoder_file.cpp (the inference library)
    if (config_out) *config_out = TrainConfig::from_json(json::parse(loaded.info.config_json));
    return loaded.encoder;
}

std::shared_ptr<nn::DcodrDecoder> load_decoder(const std::string& path, Device device) {
    nn::SafetensorsContent c = nn::load_safetensors(path);
    auto cfg = c.metadata.find("dcodr.config");
    DCODR_CHECK(cfg != c.metadata.end(), "{}: no 'dcodr.config' metadata; expected a file written by dcodr train",
                path);
    TrainConfig config = TrainConfig::from_json(json::parse(cfg->second));
    DCODR_CHECK(config.reconstruction.enabled, "{}: trained without --reconstruction (DCoDR-norec): it has no "
                "generator to draw with", path);
    bool checkpoint = c.metadata.count("dcodr.kind") && c.metadata.at("dcodr.kind") == "checkpoint";
    std::vector<nn::NamedTensor> weights;
    for (auto& nt : c.tensors) {
        if (!checkpoint) weights.push_back(nt);
        else if (nt.name.rfind("decoder.", 0) == 0) weights.push_back({nt.name.substr(8), nt.tensor});
    }
    // The embedding's rows and the last convolution's outputs give the domain count and the
    // image channels; the rest of the shape comes from the configuration.
    auto find = [&](const std::string& name) -> const Tensor& {
        for (auto& nt : weights)
            if (nt.name == name) return nt.tensor;
        fail("{}: tensor '{}{}' missing; not a DCoDR decoder", path, checkpoint ? "decoder." : "", name);
    };
    std::int64_t n_domains = find("class_embedding.weight").size(0);
    const std::string last = config.image_size >= 128 ? "generator.last_conv_layers.4.weight"
                                                      : "generator.last_conv_layers.2.weight";
    auto decoder = std::make_shared<nn::DcodrDecoder>(generator_config(config, n_domains, find(last).size(0)));
    nn::load_state_dict(decoder->state_dict(), weights, true, path);
    decoder->to(device);
    decoder->eval();
    return decoder;
}

}  // namespace dcodr::method
