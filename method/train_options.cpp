#include "method/train_options.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "data/augment.h"
#include "method/dataset_preset.h"
#include "tensor/checked_math.h"
#include "tensor/error.h"

namespace dcodr::method {

namespace {

// A row's accessor: the field by reference, for a const or a mutable configuration.
#define DCODR_FIELD(path) [](auto& c) -> auto& { return c.path; }

std::string key_of(std::string flag) {
    std::replace(flag.begin(), flag.end(), '-', '_');
    return flag;
}

// The row of one plain field; its kind follows from the field's type.
template <class Field>
TrainOption row(const char* flag, const char* group, const char* help, Field field) {
    using T = std::remove_cvref_t<decltype(field(std::declval<TrainConfig&>()))>;
    TrainOption o;
    o.flag = flag;
    o.key = key_of(flag);
    o.group = group;
    o.help = help;
    if constexpr (std::is_same_v<T, bool>) o.kind = OptionKind::boolean;
    else if constexpr (std::is_integral_v<T>) o.kind = OptionKind::integer;
    else if constexpr (std::is_floating_point_v<T>) o.kind = OptionKind::number;
    else o.kind = OptionKind::text;
    o.get = [field](const TrainConfig& c) -> json::Value {
        if constexpr (std::is_same_v<T, std::uint64_t>) return static_cast<std::int64_t>(field(c));  // --seed
        else return field(c);
    };
    const std::string name = flag;
    o.set = [field, name](TrainConfig& c, const json::Value& v) {
        if constexpr (std::is_same_v<T, bool>) {
            field(c) = v.as_bool();
        } else if constexpr (std::is_integral_v<T>) {
            const std::int64_t i = v.as_int();
            if constexpr (sizeof(T) < sizeof(std::int64_t))
                DCODR_CHECK(i >= std::numeric_limits<T>::min() && i <= std::numeric_limits<T>::max(),
                            "--{}: {} does not fit", name, i);
            field(c) = static_cast<T>(i);
        } else if constexpr (std::is_floating_point_v<T>) {
            field(c) = v.as_double();
        } else {
            field(c) = v.as_string();
        }
    };
    o.check = [](const TrainConfig&) {};
    o.member = [field](const TrainConfig& c) -> const void* { return &field(c); };
    return o;
}

template <class Field>
TrainOption integer(const char* flag, const char* group, const char* help, Field field, std::int64_t lo,
                    std::int64_t hi, const char* why = "") {
    TrainOption o = row(flag, group, help, field);
    o.check = [field, flag, lo, hi, why](const TrainConfig& c) {
        const auto v = static_cast<std::int64_t>(field(c));
        DCODR_CHECK(v >= lo && v <= hi, "--{} must be in [{}, {}], got {}{}", flag, lo, hi, v, why);
    };
    return o;
}

struct Range {
    double lo, hi;
    bool lo_open = false, hi_open = false;
    const char* why = "";
};

template <class Field>
TrainOption number(const char* flag, const char* group, const char* help, Field field, Range r) {
    TrainOption o = row(flag, group, help, field);
    o.check = [field, flag, r](const TrainConfig& c) {
        const double v = field(c);
        const bool ok = std::isfinite(v) && (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
        DCODR_CHECK(ok, "--{} must be a finite number in {}{}, {}{}, got {}{}", flag, r.lo_open ? "(" : "[", r.lo,
                    r.hi, r.hi_open ? ")" : "]", v, r.why);
    };
    return o;
}

template <class Field>
TrainOption choice(const char* flag, const char* group, const char* help, Field field,
                   std::vector<std::string> choices) {
    TrainOption o = row(flag, group, help, field);
    o.check = [field, flag, choices](const TrainConfig& c) {
        const std::string& v = field(c);
        if (std::find(choices.begin(), choices.end(), v) != choices.end()) return;
        std::string list;
        for (std::size_t i = 0; i < choices.size(); ++i)
            list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
        fail("--{} must be {}, got '{}'", flag, list, v);
    };
    return o;
}

// Options added after the first checkpoints were written: absent there, they read as defaults.
TrainOption added_later(TrainOption o) {
    o.required = false;
    return o;
}

// --init*: where a run's start came from; a resumed run keeps its checkpoint's.
TrainOption start_option(TrainOption o) {
    o.required = false;
    o.keep_saved_on_resume = true;
    return o;
}

constexpr std::int64_t kHuge = std::int64_t{1} << 40;

std::vector<TrainOption> build_table() {
    std::vector<TrainOption> t;
    // ---- data (the data set's own options are the commands', tools/common.cpp)
    t.push_back(integer("image-size", "data", "images are resized to this square size", DCODR_FIELD(image_size), 16,
                        1024));

    // ---- model
    TrainOption depth = row("depth", "model", "ResNet depth of the encoder: 18, 34 or 50", DCODR_FIELD(encoder.depth));
    depth.check = [](const TrainConfig& c) {
        const int d = c.encoder.depth;
        DCODR_CHECK(d == 18 || d == 34 || d == 50, "--depth must be 18, 34 or 50, got {}", d);
    };
    t.push_back(depth);
    t.push_back(number("width", "model", "ResNet channel multiplier (1 = torchvision; 0.25 trains fast on a CPU)",
                       DCODR_FIELD(encoder.width), {1.0 / 64, 8, false, false,
                                                    " (channel multiplier; 1/64 keeps one channel)"}));
    t.push_back(integer("hidden", "model", "width of the Linear that replaces the ResNet's fc",
                        DCODR_FIELD(encoder.hidden), 1, 65536));
    t.push_back(integer("code-dim", "model", "code dimension", DCODR_FIELD(encoder.code_dim), 1, 65536));
    t.push_back(row("head", "model",
                    "add the authors' 3-layer head after the code layer; its output is then the code everywhere "
                    "(loss, generator, eval, encode, translate)",
                    DCODR_FIELD(encoder.head)));
    TrainOption gen_channels = added_later(integer("gen-channels", "model",
                                                   "generator width (the paper's 256; 32-64 trains on a CPU)",
                                                   DCODR_FIELD(reconstruction.gen_channels), 8, 4096,
                                                   " (a multiple of 8)"));
    gen_channels.check = [range = gen_channels.check](const TrainConfig& c) {
        range(c);
        DCODR_CHECK(c.reconstruction.gen_channels % 8 == 0, "--gen-channels must be a multiple of 8 (the trunk "
                    "widens by 1/8, 1/4, 1), got {}", c.reconstruction.gen_channels);
    };
    t.push_back(gen_channels);
    t.push_back(added_later(integer("domain-dim", "model", "size of the learned per-domain latent",
                                    DCODR_FIELD(reconstruction.domain_dim), 1, 65536)));
    t.push_back(start_option(row("init", "model",
                                 "start from these weights: a PyTorch .pth/.pt/.pth.tar (torch.save, zip or legacy "
                                 "layout), .safetensors or .npz; names are mapped by rules (docs/pytorch-checkpoints.md)",
                                 DCODR_FIELD(init.path))));
    t.push_back(start_option(row("init-key", "model",
                                 "--init .pth: where the state dict sits, keys joined by '/' (default: its "
                                 "'state_dict' or 'model' entry, else the whole object)",
                                 DCODR_FIELD(init.key))));
    t.push_back(start_option(row("init-prefix", "model", "--init: use only names under this prefix, with it removed",
                                 DCODR_FIELD(init.prefix))));
    t.push_back(start_option(row("init-map", "model",
                                 "--init: prefix renames FROM=TO[,FROM=TO...], applied before the built-in rules",
                                 DCODR_FIELD(init.map))));
    t.push_back(start_option(row("init-strict", "model",
                                 "--init: model tensors missing from the file are an error (default: reported)",
                                 DCODR_FIELD(init.strict))));

    // ---- method
    TrainOption loss;
    loss.flag = loss.key = "loss";
    loss.group = "method";
    loss.help = "domain_wise (DCoDR), standard (SimCLR baseline) or no_positive";
    loss.kind = OptionKind::text;
    loss.get = [](const TrainConfig& c) -> json::Value { return contrastive_mode_name(c.loss.mode); };
    loss.set = [](TrainConfig& c, const json::Value& v) { c.loss.mode = parse_contrastive_mode(v.as_string()); };
    loss.check = [](const TrainConfig&) {};  // every ContrastiveMode is valid; set() refuses unknown names
    loss.member = [](const TrainConfig& c) -> const void* { return &c.loss.mode; };
    t.push_back(loss);
    // logits are cosine / tau: below 1e-3 they overflow float, above 100 every pair looks alike.
    t.push_back(number("tau", "method",
                       "temperature (the authors': 0.2 for Cars3D, SmallNORB, CelebA; 0.1 for Shapes3D, "
                       "Edges2Shoes; --dataset-preset sets it)",
                       DCODR_FIELD(loss.tau), {1e-3, 100}));
    t.push_back(integer("max-negatives", "method", "cap on negatives per anchor (0 = all same-domain anchors)",
                        DCODR_FIELD(loss.max_negatives), 0, std::int64_t{1} << 30));
    TrainOption augmentations = row("augmentations", "method",
                                    "positive transforms (also: hflip,vflip,rotation,erasing,hue,brightness_low,"
                                    "brightness_high,contrast_low,grayscale,simsiam, 'all' = the authors' 13 single "
                                    "ones; their names (gblurr, affine, ...) work too; textbook variants: "
                                    "rotation_bilinear,erasing_rect,simsiam_paper)",
                                    DCODR_FIELD(augmentations));
    augmentations.check = [](const TrainConfig& c) {
        try {
            data::parse_augmentations(c.augmentations);
        } catch (const Error& e) {
            fail("--augmentations: {}", e.what());
        }
    };
    t.push_back(augmentations);
    t.push_back(added_later(row("reconstruction", "method",
                                "DCoDR with its decoder: train a generator that rebuilds each image from its code and "
                                "a learned per-domain latent, jointly with the encoder",
                                DCODR_FIELD(reconstruction.enabled))));
    t.push_back(added_later(number("reconstruction-weight", "method",
                                   "weight of the reconstruction loss (L = L_contrastive + w * L_rec)",
                                   DCODR_FIELD(reconstruction.weight), {0, 1e6})));
    t.push_back(added_later(choice("perceptual", "method",
                                   "reconstruction features: vgg16, pixel (L1 alone), or auto (vgg16 when "
                                   "--perceptual-weights is given, else the measured fallback: pixel)",
                                   DCODR_FIELD(reconstruction.perceptual), {"auto", "vgg16", "pixel"})));
    t.push_back(added_later(row("perceptual-weights", "method",
                                "ImageNet VGG16 weights: torchvision's vgg16-*.pth, or a .safetensors of its state "
                                "dict",
                                DCODR_FIELD(reconstruction.perceptual_weights))));

    // The preset a run's defaults came from: like --init*, a resumed run keeps its checkpoint's.
    std::vector<std::string> preset_names{""};
    for (const auto& p : dataset_presets()) preset_names.push_back(p.name);
    TrainOption preset = start_option(choice("dataset-preset", "method",
                                             "the authors' settings for cars3d, smallnorb, shapes3d, celeba or "
                                             "edges2shoes (tau, head, rates, image size, batches; README.md); "
                                             "explicit flags win, and so do a config file's keys",
                                             DCODR_FIELD(dataset_preset), preset_names));
    t.push_back(preset);

    // ---- optimisation
    // Which batches (data/sampler.h). Checkpoints written before these existed trained with the
    // coverage sampler and balanced baseline batches: TrainConfig::from_json says so.
    t.push_back(added_later(choice("sampler", "optimisation",
                                   "balanced batches: authors (domains drawn uniformly, each domain's shuffled list "
                                   "walked m at a time, N // (k*m) batches an epoch) or coverage (every image each "
                                   "epoch, small domains padded with repeats)",
                                   DCODR_FIELD(sampler), {"authors", "coverage"})));
    t.push_back(added_later(choice("baseline-batch", "optimisation",
                                   "--loss standard: shuffled (the authors': ordinary batches from all domains) or "
                                   "balanced (the --sampler's domain batches)",
                                   DCODR_FIELD(baseline_batch), {"shuffled", "balanced"})));
    t.push_back(added_later(integer("baseline-batch-size", "optimisation",
                                    "--loss standard with shuffled batches: images per batch",
                                    DCODR_FIELD(baseline_batch_size), 2, 65536, " (anchors need negatives)")));
    t.push_back(integer("domains-per-batch", "optimisation", "domains per batch (0 = min(4, domains))",
                        DCODR_FIELD(domains_per_batch), 0, 4096, " (0 = min(4, domains))"));
    t.push_back(integer("images-per-domain", "optimisation", "images of each domain per batch",
                        DCODR_FIELD(images_per_domain), 2, 65536, " (anchors need negatives)"));
    t.push_back(number("lr", "optimisation", "Adam learning rate of the encoder", DCODR_FIELD(lr), {0, 10, true}));
    TrainOption gen_lr = added_later(number("gen-lr", "optimisation",
                                            "generator + modulation learning rate; given explicitly it also sets the "
                                            "encoder's --lr unless that is given too (as the authors' flag does)",
                                            DCODR_FIELD(reconstruction.gen_lr), {0, 10, true}));
    gen_lr.also_sets = "lr";
    t.push_back(gen_lr);
    t.push_back(added_later(number("embedding-lr", "optimisation", "learning rate of the per-domain latents",
                                   DCODR_FIELD(reconstruction.embedding_lr), {0, 10, true})));
    t.push_back(number("beta1", "optimisation", "Adam beta1", DCODR_FIELD(beta1), {0, 1, false, true}));
    t.push_back(number("beta2", "optimisation", "Adam beta2", DCODR_FIELD(beta2), {0, 1, false, true}));
    t.push_back(integer("epochs", "optimisation", "epochs to train", DCODR_FIELD(epochs), 1, 1000000));
    TrainOption steps = integer("steps", "optimisation", "train this many steps instead of --epochs (0 = use epochs)",
                                DCODR_FIELD(max_steps), 0, kHuge, " (0 = train for --epochs)");
    steps.key = "max_steps";
    t.push_back(steps);
    t.push_back(integer("lr-step-epochs", "optimisation",
                        "multiply the learning rate by --lr-gamma every this many epochs", DCODR_FIELD(lr_step_epochs),
                        1, 1000000));
    t.push_back(number("lr-gamma", "optimisation", "learning-rate decay factor", DCODR_FIELD(lr_gamma),
                       {0, 1, true, false, " (a decay factor)"}));
    t.push_back(number("clip-grad-norm", "optimisation", "clip the global gradient norm to this (0 = off)",
                       DCODR_FIELD(clip_grad_norm), {0, 1e30, false, false, " (0 = off)"}));
    t.push_back(row("seed", "optimisation", "seed for initialisation, batches and augmentations", DCODR_FIELD(seed)));

    // ---- output
    t.push_back(added_later(integer("checkpoint-every", "output", "checkpoint every N steps (0 = every epoch)",
                                    DCODR_FIELD(checkpoint_every), 0, kHuge, " (0 = every epoch)")));
    t.push_back(added_later(integer("log-every", "output", "progress line every N steps", DCODR_FIELD(log_every), 1,
                                    kHuge)));
    return t;
}

#undef DCODR_FIELD

// One training batch holds both views: 2 x domains x images-per-domain images of 3 x S x S floats.
constexpr std::int64_t kMaxBatchBytes = std::int64_t{16} << 30;

}  // namespace

const std::vector<TrainOption>& train_options() {
    static const std::vector<TrainOption> table = build_table();
    return table;
}

const TrainOption* find_train_option_by_key(std::string_view key) {
    for (const auto& o : train_options())
        if (o.key == key) return &o;
    return nullptr;
}

const TrainOption* find_train_option_by_flag(std::string_view flag) {
    for (const auto& o : train_options())
        if (o.flag == flag) return &o;
    return nullptr;
}

void set_train_options(TrainConfig& c, const json::Value& v, const std::string& source, bool reject_unknown,
                       bool require_all) {
    DCODR_CHECK(v.is_object(), "{}: the training configuration must be a JSON object, got {}", source,
                json::type_name(v.type()));
    if (reject_unknown) {
        for (const auto& [key, value] : v.as_object()) {
            if (find_train_option_by_key(key)) continue;
            std::string known;
            for (const auto& o : train_options()) known += (known.empty() ? "" : ", ") + o.key;
            fail("{}: unknown key '{}' (the keys are: {})", source, key, known);
        }
    }
    for (const auto& o : train_options()) {
        const json::Value* value = v.find(o.key);
        if (!value) {
            DCODR_CHECK(!require_all || !o.required, "{}: key '{}' (--{}) is missing", source, o.key, o.flag);
            continue;
        }
        try {
            o.set(c, *value);
        } catch (const Error& e) {
            fail("{}: key '{}' (--{}): {}", source, o.key, o.flag, e.what());
        }
    }
}

void check_train_config(const TrainConfig& c) {
    for (const auto& o : train_options()) o.check(c);
    const std::int64_t domains = c.domains_per_batch > 0 ? c.domains_per_batch : 4;
    const std::int64_t images = 2 * domains * c.images_per_domain;
    const std::int64_t bytes = checked_mul(checked_mul(images, 3 * c.image_size * c.image_size, "batch size"), 4,
                                           "batch size");
    DCODR_CHECK(bytes <= kMaxBatchBytes,
                "--images-per-domain {} x --domains-per-batch {} x --image-size {}: one batch of both views would "
                "take {:.1f} GiB of images alone, more than the {} GiB allowed; lower one of them",
                c.images_per_domain, domains, c.image_size, static_cast<double>(bytes) / (1 << 30),
                kMaxBatchBytes >> 30);
    DCODR_CHECK(!c.reconstruction.enabled || c.image_size % 16 == 0,
                "--reconstruction needs --image-size to be a multiple of 16 (the generator doubles 4 times), got {}",
                c.image_size);
}

std::vector<const void*> train_config_option_members(const TrainConfig& c) {
    // Not options: where the run goes and how loud it is (set by --device, --out and the caller).
    [[maybe_unused]] const auto& [encoder, reconstruction, loss, image_size, domains_per_batch, images_per_domain,
                                  sampler, baseline_batch, baseline_batch_size, dataset_preset, augmentations, lr, beta1, beta2, epochs, max_steps, lr_step_epochs, lr_gamma,
                                  clip_grad_norm, seed, device, out_dir, checkpoint_every, log_every, quiet, init] = c;
    const auto& [depth, width, hidden, code_dim, head] = encoder;
    const auto& [enabled, weight, gen_channels, domain_dim, gen_lr, embedding_lr, perceptual, perceptual_weights] =
        reconstruction;
    const auto& [tau, mode, max_negatives] = loss;
    const auto& [path, key, prefix, map, strict] = init;
    return {&depth, &width, &hidden, &code_dim, &head, &enabled, &weight, &gen_channels, &domain_dim, &gen_lr,
            &embedding_lr, &perceptual, &perceptual_weights, &tau, &mode, &max_negatives, &image_size,
            &domains_per_batch, &images_per_domain, &sampler, &baseline_batch, &baseline_batch_size,
            &dataset_preset, &augmentations, &lr, &beta1, &beta2, &epochs, &max_steps,
            &lr_step_epochs, &lr_gamma, &clip_grad_norm, &seed, &checkpoint_every, &log_every, &path, &key, &prefix,
            &map, &strict};
}

}  // namespace dcodr::method
