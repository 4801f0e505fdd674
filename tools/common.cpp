#include "tools/common.h"

#include <algorithm>
#include <iostream>

#include "data/synthetic.h"
#include "tensor/backend.h"
#include "tools/option_checks.h"

namespace dcodr::tools {

void add_data_options(Args& a) {
    a.option("data", "synthetic", "training data: an authors' .npz, a labels .csv (path,domain,attrs...), or 'synthetic'");
    a.option("test-data", "", "separate test set (.npz or .csv); default: split --data by --test-fraction");
    a.option("test-fraction", "0.2", "share of the data held out for testing when no --test-data is given");
    a.option("synthetic-count", "6000", "images the synthetic generator renders (train + test)");
    a.option("domain-factor", "shape", "synthetic data: the factor used as the domain label");
    a.option("data-seed", "7", "seed for the synthetic factors and the train/test split");
}

std::pair<data::Dataset, data::Dataset> load_train_test(const Args& a) {
    const std::string path = a.str("data");
    const auto seed = static_cast<std::uint64_t>(a.integer("data-seed"));
    check_data_options(a);
    data::Dataset all;
    if (path == "synthetic") {
        data::shapes::GenerateOptions g;
        g.domain_factor = a.str("domain-factor");
        all = data::shapes::generate(a.integer("synthetic-count"), seed, g);
    } else {
        all = data::load_dataset(path, csv_options_from(a));
    }
    if (!a.str("test-data").empty()) return {std::move(all), data::load_dataset(a.str("test-data"), csv_options_from(a))};
    double frac = a.number("test-fraction");
    DCODR_CHECK(frac > 0 && frac < 1, "--test-fraction must be in (0, 1), got {}", frac);
    return data::train_test_split(all, frac, seed);
}

void add_train_options(Args& a) {
    a.option("depth", "50", "ResNet depth of the encoder: 18, 34 or 50");
    a.option("width", "1", "ResNet channel multiplier (1 = torchvision; 0.25 trains fast on a CPU)");
    a.option("hidden", "2048", "width of the Linear that replaces the ResNet's fc");
    a.option("code-dim", "128", "code dimension");
    a.flag("head", "add the 3-layer projection head used by the loss only");
    a.option("loss", "domain_wise", "domain_wise (DCoDR), standard (SimCLR baseline) or no_positive");
    a.option("tau", "0.1", "temperature (0.1 for Shapes3D-like data, 0.2 otherwise)");
    a.option("max-negatives", "0", "cap on negatives per anchor (0 = all same-domain anchors)");
    a.option("image-size", "64", "images are resized to this square size");
    a.option("domains-per-batch", "0", "domains per batch (0 = min(4, domains))");
    a.option("images-per-domain", "32", "images of each domain per batch");
    a.option("augmentations", "blur,high_contrast,crop,high_saturation",
             "positive transforms (also: hflip,vflip,rotation,erasing,hue,brightness_low,brightness_high,"
             "contrast_low,grayscale,simsiam, 'all' = the authors' 13 single ones; their names (gblurr, affine, ...) "
             "work too; textbook variants: rotation_bilinear,erasing_rect,simsiam_paper)");
    a.option("lr", "1e-4", "Adam learning rate");
    a.option("beta1", "0.5", "Adam beta1");
    a.option("beta2", "0.999", "Adam beta2");
    a.option("epochs", "200", "epochs to train");
    a.option("steps", "0", "train this many steps instead of --epochs (0 = use epochs)");
    a.option("lr-step-epochs", "30", "multiply the learning rate by --lr-gamma every this many epochs");
    a.option("lr-gamma", "0.33", "learning-rate decay factor");
    a.option("clip-grad-norm", "0", "clip the global gradient norm to this (0 = off)");
    a.option("seed", "0", "seed for initialisation, batches and augmentations");
    a.flag("reconstruction", "DCoDR with its decoder: train a generator that rebuilds each image from its code and "
                             "a learned per-domain latent, jointly with the encoder");
    a.option("reconstruction-weight", "0.3", "weight of the reconstruction loss (L = L_contrastive + w * L_rec)");
    a.option("gen-channels", "256", "generator width (the paper's 256; 32-64 trains on a CPU)");
    a.option("domain-dim", "256", "size of the learned per-domain latent");
    a.option("gen-lr", "3e-4", "generator + modulation learning rate; given explicitly it also sets the encoder's "
                               "(as the authors' flag does)");
    a.option("embedding-lr", "3e-3", "learning rate of the per-domain latents");
    a.option("perceptual", "auto", "reconstruction features: vgg16, pixel (L1 alone), or auto (vgg16 when "
                                   "--perceptual-weights is given, else the measured fallback: pixel)");
    a.option("perceptual-weights", "",
             "ImageNet VGG16 weights: torchvision's vgg16-*.pth, or a .safetensors of its state dict");
    a.option("checkpoint-every", "0", "checkpoint every N steps (0 = every epoch)");
    a.option("log-every", "10", "progress line every N steps");
    a.option("init", "", "start from these weights: a PyTorch .pth/.pt/.pth.tar (torch.save, zip or legacy layout), "
                         ".safetensors or .npz; names are mapped by rules (docs/pytorch-checkpoints.md)");
    a.option("init-key", "", "--init .pth: where the state dict sits, keys joined by '/' "
                             "(default: its 'state_dict' or 'model' entry, else the whole object)");
    a.option("init-prefix", "", "--init: use only names under this prefix, with it removed");
    a.option("init-map", "", "--init: prefix renames FROM=TO[,FROM=TO...], applied before the built-in rules");
    a.flag("init-strict", "--init: model tensors missing from the file are an error (default: reported)");
}

method::TrainConfig train_config_from(const Args& a) {
    method::TrainConfig c;
    c.encoder.depth = static_cast<int>(a.integer("depth"));
    c.encoder.width = a.number("width");
    c.encoder.hidden = a.integer("hidden");
    c.encoder.code_dim = a.integer("code-dim");
    c.encoder.head = a.enabled("head");
    c.loss.mode = method::parse_contrastive_mode(a.str("loss"));
    c.loss.tau = a.number("tau");
    c.loss.max_negatives = a.integer("max-negatives");
    c.image_size = a.integer("image-size");
    c.domains_per_batch = a.integer("domains-per-batch");
    c.images_per_domain = a.integer("images-per-domain");
    c.augmentations = a.str("augmentations");
    c.lr = a.number("lr");
    c.beta1 = a.number("beta1");
    c.beta2 = a.number("beta2");
    c.epochs = a.integer("epochs");
    c.max_steps = a.integer("steps");
    c.lr_step_epochs = a.integer("lr-step-epochs");
    c.lr_gamma = a.number("lr-gamma");
    c.clip_grad_norm = a.number("clip-grad-norm");
    c.seed = static_cast<std::uint64_t>(a.integer("seed"));
    auto& rec = c.reconstruction;
    rec.enabled = a.enabled("reconstruction");
    rec.weight = a.number("reconstruction-weight");
    rec.gen_channels = a.integer("gen-channels");
    rec.domain_dim = a.integer("domain-dim");
    rec.gen_lr = a.number("gen-lr");
    if (a.given("gen-lr")) c.lr = rec.gen_lr;
    rec.embedding_lr = a.number("embedding-lr");
    rec.perceptual = a.str("perceptual");
    rec.perceptual_weights = a.str("perceptual-weights");
    c.checkpoint_every = a.integer("checkpoint-every");
    c.log_every = std::max<std::int64_t>(1, a.integer("log-every"));
    c.init.path = a.str("init");
    c.init.key = a.str("init-key");
    c.init.prefix = a.str("init-prefix");
    c.init.map = a.str("init-map");
    c.init.strict = a.enabled("init-strict");
    DCODR_CHECK(c.image_size >= 16, "--image-size must be at least 16, got {}", c.image_size);
    DCODR_CHECK(c.images_per_domain >= 2, "--images-per-domain must be at least 2 (anchors need negatives)");
    check_train_config(c);
    if (a.declared("probe-batch")) probe_config_from(a);  // --eval's options: refuse bad ones before training
    return c;
}

method::TrainConfig resume_config_from(const Args& a, const json::Value& saved) {
    json::Value merged = train_config_from(a).to_json();
    for (auto& [key, value] : merged.as_object()) {
        // The JSON keys are the flag names with '_' for '-' (and max_steps is --steps).
        std::string flag = key == "max_steps" ? "steps" : key;
        std::replace(flag.begin(), flag.end(), '_', '-');
        // --gen-lr also sets the encoder's rate, so it counts as giving --lr.
        bool given = a.given(flag) || (key == "lr" && a.given("gen-lr"));
        if (key.rfind("init", 0) == 0)  // where the start came from: always the checkpoint's
            value = saved.contains(key) ? saved.at(key) : nn::InitOptions{}.to_json().at(key);
        else if (!given && saved.contains(key))
            value = saved.at(key);
    }
    method::TrainConfig c = method::TrainConfig::from_json(merged);
    c.log_every = std::max<std::int64_t>(1, a.integer("log-every"));
    check_train_config(c);
    return c;
}

void add_probe_options(Args& a) {
    a.option("probe-regress", "", "attributes probed by regression (the same MLP, L1 loss; mean absolute error "
                                  "reported next to predicting the mean) instead of classification, comma-separated; "
                                  "a data set's landmarks are always regressed");
    a.option("retrieval-tolerance", "", "NAME=K[,NAME=K]: retrieval counts attribute NAME as matched within K class "
                                        "steps (the authors' SmallNORB: azimuth=2); probes still need the exact class");
    a.option("circular", "", "attributes whose classes wrap around (SmallNORB's azimuth): retrieval tolerance is "
                             "measured around the circle");
    a.option("probe-on-test", "0", "the authors' CelebA protocol: evaluate on the test set alone, its domains with one "
                                   "image dropped, split stratified by domain with this fraction scored (their code: "
                                   "0.25); 0 = probes trained on the train set, scored on the test set");
    a.option("probe-epochs", "100", "maximum epochs of each MLP probe");
    a.option("probe-patience", "7", "early stop after this many epochs without a better validation accuracy");
    a.option("probe-lr", "1e-3", "probe learning rate (Adam)");
    a.option("probe-batch", "128", "probe batch size");
}

namespace {

std::vector<std::string> comma_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t p = 0;
    while (p <= s.size()) {
        auto q = s.find(',', p);
        std::string item = s.substr(p, q == std::string::npos ? std::string::npos : q - p);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) out.push_back(item);
        p = q == std::string::npos ? s.size() + 1 : q + 1;
    }
    return out;
}

}  // namespace

method::ProbeConfig probe_config_from(const Args& a) {
    method::ProbeConfig p;
    p.regress = comma_list(a.str("probe-regress"));
    for (const auto& item : comma_list(a.str("retrieval-tolerance"))) {
        auto eq = item.find('=');
        DCODR_CHECK(eq != std::string::npos && eq > 0, "--retrieval-tolerance: expected NAME=K, got '{}'", item);
        const std::string value = item.substr(eq + 1);
        std::size_t used = 0;
        long long k = -1;
        try {
            k = std::stoll(value, &used);
        } catch (const std::exception&) {
        }
        DCODR_CHECK(used == value.size() && !value.empty() && k >= 0 && k <= 1000000,
                    "--retrieval-tolerance: expected NAME=K with K a whole number of steps in 0..1000000, got '{}'",
                    item);
        p.retrieval.tolerance[item.substr(0, eq)] = k;
    }
    p.retrieval.circular = comma_list(a.str("circular"));
    p.split_test = a.number("probe-on-test");
    p.max_epochs = a.integer("probe-epochs");
    p.patience = a.integer("probe-patience");
    p.lr = a.number("probe-lr");
    p.batch_size = a.integer("probe-batch");
    check_probe_config(p);
    return p;
}

void add_runtime_options(Args& a) {
    a.option("device", "cpu", "cpu, cuda or cuda:N");
    a.option("threads", "0", "CPU threads (0 = DCODR_THREADS or all cores)");
}

Device device_from(const Args& a) {
    if (int n = checked_threads(a.integer("threads")); n > 0) set_num_threads(n);
    Device d = Device::parse(a.str("device"));
    backend_for(d);  // fails now, with a clear message, when the device cannot be used
    return d;
}

}  // namespace dcodr::tools
