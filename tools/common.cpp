#include "tools/common.h"

#include <iostream>

#include "data/synthetic.h"
#include "method/dataset_preset.h"
#include "tensor/backend.h"
#include "tools/option_checks.h"

namespace dcodr::tools {

void add_data_options(Args& a) {
    const std::string g = "data";
    a.option("data", "synthetic", "training data: an authors' .npz, a labels .csv (path,domain,attrs...), or 'synthetic'",
             g);
    a.option("test-data", "", "separate test set (.npz or .csv); default: split --data by --test-fraction", g);
    a.option("test-fraction", "0.2", "share of the data held out for testing when no --test-data is given", g);
    a.option("synthetic-count", "6000", "images the synthetic generator renders (train + test)", g);
    a.option("domain-factor", "shape", "synthetic data: the factor used as the domain label", g);
    a.option("data-seed", "7", "seed for the synthetic factors and the train/test split", g);
}

void add_csv_image_size_option(Args& a) {
    a.option("image-size", "0",
             "a labels .csv whose images differ in size: resize them all to this square size when loading "
             "(0 = refuse such a CSV); the encoder then sees them at the size it was trained at");
}

std::pair<data::Dataset, data::Dataset> load_train_test(const Args& a) {
    const std::string path = a.str("data");
    const auto seed = static_cast<std::uint64_t>(a.integer("data-seed"));
    as_usage_error([&] { check_data_options(a); });
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
    if (!(frac > 0 && frac < 1)) usage_error("--test-fraction must be in (0, 1), got {}", frac);
    return data::train_test_split(all, frac, seed);
}

void add_probe_options(Args& a) {
    const std::string g = "evaluation";
    a.option("probe-regress", "", "attributes probed by regression (the same MLP, L1 loss; mean absolute error "
                                  "reported next to predicting the mean) instead of classification, comma-separated; "
                                  "a data set's landmarks are always regressed", g);
    a.option("retrieval-tolerance", "", "NAME=K[,NAME=K]: retrieval counts attribute NAME as matched within K class "
                                        "steps (the authors' SmallNORB: azimuth=2); probes still need the exact class", g);
    a.option("circular", "", "attributes whose classes wrap around (SmallNORB's azimuth): retrieval tolerance is "
                             "measured around the circle", g);
    a.option("probe-on-test", "0", "the authors' CelebA protocol: evaluate on the test set alone, its domains with one "
                                   "image dropped, split stratified by domain with this fraction scored (their code: "
                                   "0.25); 0 = probes trained on the train set, scored on the test set", g);
    a.option("probe-epochs", "100", "maximum epochs of each MLP probe", g);
    a.option("probe-patience", "7", "early stop after this many epochs without a better validation accuracy", g);
    a.option("probe-lr", "1e-3", "probe learning rate (Adam)", g);
    a.option("probe-batch", "128", "probe batch size", g);
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

// Every problem with these options is a usage error (exit code 2).
method::ProbeConfig read_probe_config(const Args& a) {
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

}  // namespace

method::ProbeConfig probe_config_from(const Args& a) {
    return as_usage_error([&] { return read_probe_config(a); });
}

}  // namespace dcodr::tools
