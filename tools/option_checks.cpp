#include "tools/option_checks.h"

#include <cmath>
#include <iostream>
#include <thread>

#include "tensor/checked_math.h"
#include "tensor/error.h"

namespace dcodr::tools {

namespace {

void integer_in(const char* flag, std::int64_t v, std::int64_t lo, std::int64_t hi, const char* why = "") {
    DCODR_CHECK(v >= lo && v <= hi, "--{} must be in [{}, {}], got {}{}", flag, lo, hi, v, why);
}

void number_in(const char* flag, double v, double lo, double hi, bool lo_open, const char* why = "",
               bool hi_open = false) {
    const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    DCODR_CHECK(ok, "--{} must be a finite number in {}{}, {}{}, got {}{}", flag, lo_open ? "(" : "[", lo, hi,
                hi_open ? ")" : "]", v, why);
}

// One training batch holds both views: 2 x domains x images-per-domain images of 3 x S x S floats.
constexpr std::int64_t kMaxBatchBytes = std::int64_t{16} << 30;

}  // namespace

void check_train_config(const method::TrainConfig& c) {
    DCODR_CHECK(c.encoder.depth == 18 || c.encoder.depth == 34 || c.encoder.depth == 50,
                "--depth must be 18, 34 or 50, got {}", c.encoder.depth);
    number_in("width", c.encoder.width, 1.0 / 64, 8, false, " (channel multiplier; 1/64 keeps one channel)");
    integer_in("hidden", c.encoder.hidden, 1, 65536);
    integer_in("code-dim", c.encoder.code_dim, 1, 65536);
    // logits are cosine / tau: below 1e-3 they overflow float, above 100 every pair looks alike.
    number_in("tau", c.loss.tau, 1e-3, 100, false);
    integer_in("max-negatives", c.loss.max_negatives, 0, std::int64_t{1} << 30);
    integer_in("image-size", c.image_size, 16, 1024);
    integer_in("domains-per-batch", c.domains_per_batch, 0, 4096, " (0 = min(4, domains))");
    integer_in("images-per-domain", c.images_per_domain, 2, 65536, " (anchors need negatives)");
    const std::int64_t domains = c.domains_per_batch > 0 ? c.domains_per_batch : 4;
    const std::int64_t images = 2 * domains * c.images_per_domain;
    const std::int64_t bytes = checked_mul(checked_mul(images, 3 * c.image_size * c.image_size, "batch size"), 4,
                                           "batch size");
    DCODR_CHECK(bytes <= kMaxBatchBytes,
                "--images-per-domain {} x --domains-per-batch {} x --image-size {}: one batch of both views would "
                "take {:.1f} GiB of images alone, more than the {} GiB allowed; lower one of them",
                c.images_per_domain, domains, c.image_size, static_cast<double>(bytes) / (1 << 30),
                kMaxBatchBytes >> 30);
    // Before --lr: a given --gen-lr also sets the encoder's rate (the authors' flag).
    number_in("gen-lr", c.reconstruction.gen_lr, 0, 10, true);
    number_in("lr", c.lr, 0, 10, true);
    number_in("beta1", c.beta1, 0, 1, false, "", true);
    number_in("beta2", c.beta2, 0, 1, false, "", true);
    integer_in("epochs", c.epochs, 1, 1000000);
    integer_in("steps", c.max_steps, 0, std::int64_t{1} << 40, " (0 = train for --epochs)");
    integer_in("lr-step-epochs", c.lr_step_epochs, 1, 1000000);
    number_in("lr-gamma", c.lr_gamma, 0, 1, true, " (a decay factor)");
    number_in("clip-grad-norm", c.clip_grad_norm, 0, 1e30, false, " (0 = off)");
    integer_in("checkpoint-every", c.checkpoint_every, 0, std::int64_t{1} << 40, " (0 = every epoch)");
    integer_in("log-every", c.log_every, 1, std::int64_t{1} << 40);
    // DCoDR's decoder (checked with or without --reconstruction: a saved config may turn it on).
    const auto& r = c.reconstruction;
    number_in("reconstruction-weight", r.weight, 0, 1e6, false);
    integer_in("gen-channels", r.gen_channels, 8, 4096, " (a multiple of 8)");
    DCODR_CHECK(r.gen_channels % 8 == 0, "--gen-channels must be a multiple of 8 (the trunk widens by 1/8, 1/4, 1), "
                "got {}", r.gen_channels);
    integer_in("domain-dim", r.domain_dim, 1, 65536);
    number_in("embedding-lr", r.embedding_lr, 0, 10, true);
    DCODR_CHECK(r.perceptual == "auto" || r.perceptual == "vgg16" || r.perceptual == "pixel",
                "--perceptual must be auto, vgg16 or pixel, got '{}'", r.perceptual);
    DCODR_CHECK(!r.enabled || c.image_size % 16 == 0,
                "--reconstruction needs --image-size to be a multiple of 16 (the generator doubles 4 times), got {}",
                c.image_size);
}

void check_probe_config(const method::ProbeConfig& p) {
    // A batch of 1 cannot train the probe's batch norm; with no epochs or patience it never trains.
    integer_in("probe-batch", p.batch_size, 2, 1 << 20);
    integer_in("probe-epochs", p.max_epochs, 1, 100000);
    integer_in("probe-patience", p.patience, 1, 100000);
    number_in("probe-lr", p.lr, 0, 10, true);
    DCODR_CHECK(p.split_test == 0 || (p.split_test > 0 && p.split_test < 1),
                "--probe-on-test must be 0 (off) or a fraction in (0, 1), got {}", p.split_test);
}

int checked_threads(std::int64_t requested) {
    integer_in("threads", requested, 0, kMaxThreads, " (0 = DCODR_THREADS or all cores)");
    const auto cores = static_cast<std::int64_t>(std::thread::hardware_concurrency());
    if (cores > 0 && requested > cores) {
        std::cerr << "note: --threads " << requested << " is more than the " << cores
                  << " cores of this machine; using " << cores << "\n";
        return static_cast<int>(cores);
    }
    return static_cast<int>(requested);
}

void check_data_options(const Args& a) {
    if (a.str("data") == "synthetic") integer_in("synthetic-count", a.integer("synthetic-count"), 8, 10000000);
}

data::CsvOptions csv_options_from(const Args& a) {
    data::CsvOptions o;
    if (a.declared("image-size")) o.mixed_size_target = a.integer("image-size");
    return o;
}

}  // namespace dcodr::tools
