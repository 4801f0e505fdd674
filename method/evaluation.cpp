#include "method/evaluation.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <tuple>

#include "data/rng.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tensor/ops.h"

namespace dcodr::method {

namespace {

std::shared_ptr<nn::Sequential> make_probe(std::int64_t in, std::int64_t classes, const ProbeConfig& c) {
    auto mlp = std::make_shared<nn::Sequential>();
    std::int64_t width = in;
    for (std::int64_t i = 0; i < c.hidden_layers; ++i) {
        mlp->push_back(std::make_shared<nn::Linear>(width, c.hidden, false));
        mlp->push_back(std::make_shared<nn::BatchNorm1d>(c.hidden));
        mlp->push_back(std::make_shared<nn::LeakyReLU>(0.01));
        width = c.hidden;
    }
    mlp->push_back(std::make_shared<nn::Linear>(width, classes));
    return mlp;
}

double accuracy(nn::Module& model, const Tensor& codes, const std::vector<std::int64_t>& labels, Device device) {
    if (labels.empty()) return 0;
    NoGradGuard ng;
    model.eval();
    Tensor logits = model.forward(codes.to(device));
    auto pred = kernels::max(logits, 1).second.to_int_vector();
    std::int64_t hit = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) hit += pred[i] == labels[i];
    return static_cast<double>(hit) / static_cast<double>(labels.size());
}

double majority_frequency(const std::vector<std::int64_t>& labels) {
    if (labels.empty()) return 0;
    std::map<std::int64_t, std::int64_t> count;
    for (auto l : labels) ++count[l];
    std::int64_t best = 0;
    for (auto& [k, n] : count) best = std::max(best, n);
    return static_cast<double>(best) / static_cast<double>(labels.size());
}

Tensor rows(const Tensor& codes, const std::vector<std::int64_t>& idx) {
    return kernels::index_select(codes, 0, Tensor::from_vector(idx, {static_cast<std::int64_t>(idx.size())}));
}
std::vector<std::int64_t> pick(const std::vector<std::int64_t>& v, const std::vector<std::int64_t>& idx) {
    std::vector<std::int64_t> r;
    for (auto i : idx) r.push_back(v[static_cast<std::size_t>(i)]);
    return r;
}

}  // namespace

namespace {

struct Split {
    std::vector<std::int64_t> fit, val;
};

// The 90/10 split of the train codes (a seeded shuffle of `rng`).
Split fit_val_split(std::int64_t n, double val_fraction, data::RandomStream& rng) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[i] = i;
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    std::int64_t n_val = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(n) * val_fraction));
    return {std::vector<std::int64_t>(order.begin() + n_val, order.end()),
            std::vector<std::int64_t>(order.begin(), order.begin() + n_val)};
}

// Trains `probe` with Adam on shuffled mini-batches of `n_fit` items (`batch_loss` gives the
// loss of a batch of positions into the fit split); after every epoch `val_score` (higher is
// better) decides whether to keep the weights; stops after `patience` epochs without a better
// score, and restores the best weights. Returns the epochs run and the best score.
template <class BatchLoss, class ValScore>
std::pair<std::int64_t, double> fit(nn::Sequential& probe, const ProbeConfig& c, std::int64_t n_fit,
                                    data::RandomStream& rng, Device device, double initial_best, BatchLoss&& batch_loss,
                                    ValScore&& val_score) {
    nn::Adam adam({{probe.named_parameters(), c.lr}});
    double best_score = initial_best;
    std::vector<nn::NamedTensor> best;
    std::int64_t since_best = 0, epochs = 0;
    for (std::int64_t epoch = 0; epoch < c.max_epochs && since_best < c.patience; ++epoch) {
        probe.train();
        std::vector<std::int64_t> perm(static_cast<std::size_t>(n_fit));
        for (std::int64_t i = 0; i < n_fit; ++i) perm[i] = i;
        for (std::int64_t i = n_fit - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
        for (std::int64_t at = 0; at < n_fit; at += c.batch_size) {
            std::int64_t end = std::min(n_fit, at + c.batch_size);
            if (end - at < 2) break;  // batch norm needs two samples
            std::vector<std::int64_t> b(perm.begin() + at, perm.begin() + end);
            Tensor bi = Tensor::from_vector(b, {static_cast<std::int64_t>(b.size())}).to(device);
            adam.zero_grad();
            backward(batch_loss(b, bi));
            adam.step();
        }
        ++epochs;
        double val = val_score();
        if (val > best_score) {
            best_score = val;
            since_best = 0;
            best.clear();
            for (auto& nt : probe.state_dict()) best.push_back({nt.name, nt.tensor.clone()});
        } else {
            ++since_best;
        }
    }
    auto state = probe.state_dict();  // restore the best epoch's weights
    for (std::size_t i = 0; i < state.size() && i < best.size(); ++i) state[i].tensor.copy_(best[i].tensor);
    return {epochs, best_score};
}

std::vector<float> pick_rows(const std::vector<float>& v, std::int64_t dims, const std::vector<std::int64_t>& idx) {
    std::vector<float> r;
    r.reserve(idx.size() * static_cast<std::size_t>(dims));
    for (auto i : idx) r.insert(r.end(), v.begin() + i * dims, v.begin() + (i + 1) * dims);
    return r;
}

// Mean |probe(codes) - targets| over every value.
double mean_abs_error(nn::Module& model, const Tensor& codes, const std::vector<float>& targets, Device device) {
    if (targets.empty()) return 0;
    NoGradGuard ng;
    model.eval();
    auto pred = model.forward(codes.to(device)).to(Device::cpu()).to_float_vector();
    double sum = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) sum += std::abs(static_cast<double>(pred[i]) - targets[i]);
    return sum / static_cast<double>(targets.size());
}

}  // namespace

ProbeResult train_probe(const std::string& label, const Tensor& train_codes, const std::vector<std::int64_t>& train_labels,
                        const Tensor& test_codes, const std::vector<std::int64_t>& test_labels, std::int64_t classes,
                        const ProbeConfig& c, Device device) {
    DCODR_CHECK(train_codes.size(0) == static_cast<std::int64_t>(train_labels.size()),
                "probe '{}': {} codes but {} labels", label, train_codes.size(0), train_labels.size());
    data::RandomStream rng(data::mix64(c.seed, 0x9e0be));
    Split split = fit_val_split(train_codes.size(0), c.val_fraction, rng);
    Tensor fit_x = rows(train_codes, split.fit).to(device), val_x = rows(train_codes, split.val);
    std::vector<std::int64_t> fit_y = pick(train_labels, split.fit), val_y = pick(train_labels, split.val);

    nn::manual_seed(data::mix64(c.seed, 0x9b0be));
    auto probe = make_probe(train_codes.size(1), classes, c);
    probe->to(device);
    ProbeResult r{label, classes, 0, -1, majority_frequency(test_labels), 0};
    auto [epochs, best] = fit(
        *probe, c, static_cast<std::int64_t>(split.fit.size()), rng, device, -1.0,
        [&](const std::vector<std::int64_t>& b, const Tensor& bi) {
            Tensor x = kernels::index_select(fit_x, 0, bi);
            Tensor y = Tensor::from_vector(pick(fit_y, b), {static_cast<std::int64_t>(b.size())}).to(device);
            return cross_entropy(probe->forward(x), y);
        },
        [&] { return accuracy(*probe, val_x, val_y, device); });
    r.epochs = epochs;
    r.val_accuracy = best;
    r.test_accuracy = accuracy(*probe, test_codes, test_labels, device);
    return r;
}

RegressionResult train_regression_probe(const std::string& label, const Tensor& train_codes,
                                        const std::vector<float>& train_targets, const Tensor& test_codes,
                                        const std::vector<float>& test_targets, std::int64_t dims,
                                        const ProbeConfig& c, Device device) {
    DCODR_CHECK(dims > 0, "regression probe '{}': {} values per image", label, dims);
    DCODR_CHECK(static_cast<std::int64_t>(train_targets.size()) == train_codes.size(0) * dims &&
                    static_cast<std::int64_t>(test_targets.size()) == test_codes.size(0) * dims,
                "regression probe '{}': {} + {} codes but {} + {} target values ({} per image)", label,
                train_codes.size(0), test_codes.size(0), train_targets.size(), test_targets.size(), dims);
    data::RandomStream rng(data::mix64(c.seed, 0x9e0be));
    Split split = fit_val_split(train_codes.size(0), c.val_fraction, rng);
    Tensor fit_x = rows(train_codes, split.fit).to(device), val_x = rows(train_codes, split.val);
    // The mean of the training targets, per value. The probe predicts the offset from it: the
    // same model and the same L1 objective as the authors' (their last layer's bias absorbs any
    // constant), but starting at the mean instead of at 0, which for pixel coordinates (~30)
    // would take thousands of Adam steps at 1e-3 to reach before anything is learned.
    std::vector<double> mean(static_cast<std::size_t>(dims), 0.0);
    const std::int64_t n_tr = train_codes.size(0), n_te = test_codes.size(0);
    for (std::int64_t i = 0; i < n_tr; ++i)
        for (std::int64_t d = 0; d < dims; ++d) mean[d] += train_targets[i * dims + d] / static_cast<double>(n_tr);
    auto centred = [&](std::vector<float> v) {
        for (std::size_t i = 0; i < v.size(); ++i) v[i] -= static_cast<float>(mean[i % static_cast<std::size_t>(dims)]);
        return v;
    };
    std::vector<float> fit_y = centred(pick_rows(train_targets, dims, split.fit));
    std::vector<float> val_y = centred(pick_rows(train_targets, dims, split.val));

    nn::manual_seed(data::mix64(c.seed, 0x9b0be));
    auto probe = make_probe(train_codes.size(1), dims, c);
    probe->to(device);
    auto [epochs, best] = fit(
        *probe, c, static_cast<std::int64_t>(split.fit.size()), rng, device, -1e300,
        [&](const std::vector<std::int64_t>& b, const Tensor& bi) {
            Tensor x = kernels::index_select(fit_x, 0, bi);
            Tensor y = Tensor::from_vector(pick_rows(fit_y, dims, b), {static_cast<std::int64_t>(b.size()), dims})
                           .to(device);
            return l1_loss(probe->forward(x), y);
        },
        [&] { return -mean_abs_error(*probe, val_x, val_y, device); });
    RegressionResult r;
    r.label = label;
    r.dims = dims;
    r.epochs = epochs;
    r.val_mae = -best;
    r.test_mae = mean_abs_error(*probe, test_codes, centred(test_targets), device);
    // The baseline: every test image predicted as the mean target of the probe's training codes.
    double err = 0;
    for (std::int64_t i = 0; i < n_te; ++i)
        for (std::int64_t d = 0; d < dims; ++d) err += std::abs(test_targets[i * dims + d] - mean[d]);
    r.baseline_mae = n_te ? err / static_cast<double>(n_te * dims) : 0;
    return r;
}

RetrievalResult retrieval(const Tensor& train_codes, const data::Dataset& train, const Tensor& test_codes,
                          const data::Dataset& test, const RetrievalOptions& options) {
    RetrievalResult r;
    r.attributes = test.attribute_names;
    const std::int64_t k = test.num_attributes(), nt = test_codes.size(0), ntr = train_codes.size(0);
    r.top1.assign(static_cast<std::size_t>(k), 0.0);
    // Per attribute: the tolerance, and the class count around which distances wrap (0 = no wrap).
    std::vector<std::int64_t> tolerance(static_cast<std::size_t>(k), 0), wrap(static_cast<std::size_t>(k), 0);
    auto index_of = [&](const std::string& name, const char* flag) {
        auto it = std::find(r.attributes.begin(), r.attributes.end(), name);
        if (it == r.attributes.end()) {
            std::string names;
            for (auto& n : r.attributes) names += (names.empty() ? "" : ", ") + n;
            fail("{}: '{}' is not an attribute of {} (attributes: {})", flag, name, test.source,
                 names.empty() ? "none" : names);
        }
        return static_cast<std::size_t>(it - r.attributes.begin());
    };
    for (const auto& [name, tol] : options.tolerance) {
        DCODR_CHECK(tol >= 0, "--retrieval-tolerance: {} must be 0 or more, got {}", name, tol);
        tolerance[index_of(name, "--retrieval-tolerance")] = tol;
    }
    for (const auto& name : options.circular) {
        const std::size_t a = index_of(name, "--circular");
        wrap[a] = std::max(train.attribute_classes[a], test.attribute_classes[a]);
    }
    for (std::int64_t a = 0; a < k; ++a) {
        std::string rule = tolerance[a] ? fmt::format("+-{}", tolerance[a]) : "exact";
        if (wrap[a]) rule += fmt::format(" circular of {}", wrap[a]);
        r.match_rules.push_back(rule);
    }
    auto matches = [&](std::int64_t a, std::int64_t mine, std::int64_t theirs) {
        std::int64_t d = std::abs(mine - theirs);
        if (wrap[a]) d = std::min(d, wrap[a] - d);
        return d <= tolerance[a];
    };
    if (nt == 0) return r;
    Tensor all = kernels::concat({train_codes, test_codes}, 0);
    // For unit vectors, the nearest in L2 is the largest dot product.
    std::int64_t all_hits = 0;
    for (std::int64_t at = 0; at < nt; at += 512) {
        std::int64_t end = std::min(nt, at + 512);
        Tensor sims = kernels::matmul(test_codes.slice(0, at, end), all, false, true);
        for (std::int64_t i = at; i < end; ++i)  // exclude the query itself
            sims.select(0, i - at).select(0, ntr + i).fill_(-1e30);
        auto nn_idx = kernels::max(sims, 1).second.to_int_vector();
        for (std::int64_t i = at; i < end; ++i) {
            std::int64_t j = nn_idx[i - at];
            bool every = true;
            for (std::int64_t a = 0; a < k; ++a) {
                std::int64_t mine = test.attribute(i, a);
                std::int64_t theirs = j < ntr ? train.attribute(j, a) : test.attribute(j - ntr, a);
                bool match = matches(a, mine, theirs);
                r.top1[a] += match;
                every = every && match;
            }
            all_hits += every;
        }
    }
    for (auto& v : r.top1) v /= static_cast<double>(nt);
    r.top1_all = static_cast<double>(all_hits) / static_cast<double>(nt);
    return r;
}

namespace {

// The authors' CelebA protocol (ProbeConfig::split_test): the test set's domains with two or
// more images, split stratified by domain into (probe training, scoring) parts.
std::pair<data::Dataset, data::Dataset> split_test_set(const data::Dataset& test, double fraction, std::uint64_t seed) {
    data::Dataset kept = data::keep_domains_with_at_least(test, 2);
    auto [fit_idx, score_idx] = data::split_indices_by_domain(kept, fraction, seed);
    DCODR_CHECK(fit_idx.size() >= 2 && !score_idx.empty(),
                "--probe-on-test {}: {} images of {} leave {} to train the probes and {} to score them; too few",
                fraction, kept.count, test.source, fit_idx.size(), score_idx.size());
    return {kept.subset(fit_idx), kept.subset(score_idx)};
}

std::vector<float> attribute_as_target(const data::Dataset& ds, std::int64_t a) {
    std::vector<float> v;
    for (std::int64_t i = 0; i < ds.count; ++i) v.push_back(static_cast<float>(ds.attribute(i, a)));
    return v;
}

}  // namespace

void check_eval_options(const ProbeConfig& config, const data::Dataset& test) {
    const auto& names = test.attribute_names;
    auto check = [&](const std::string& name, const char* flag) {
        if (std::find(names.begin(), names.end(), name) != names.end()) return;
        std::string all;
        for (auto& n : names) all += (all.empty() ? "" : ", ") + n;
        fail("{}: '{}' is not an attribute of {} (attributes: {})", flag, name, test.source, all.empty() ? "none" : all);
    };
    for (const auto& r : config.regress) check(r, "--probe-regress");
    for (const auto& [name, tol] : config.retrieval.tolerance) check(name, "--retrieval-tolerance");
    for (const auto& name : config.retrieval.circular) check(name, "--circular");
}

EvalReport evaluate(nn::DcodrEncoder& encoder, const data::Dataset& train_in, const data::Dataset& test_in,
                    std::int64_t image_size, const ProbeConfig& config, Device device, const std::string& name,
                    bool verbose) {
    EvalReport report;
    report.name = name;
    check_eval_options(config, test_in);
    // With split_test the train set plays no part (the authors' CelebA evaluation).
    data::Dataset split_fit, split_score;
    if (config.split_test > 0) {
        std::tie(split_fit, split_score) = split_test_set(test_in, config.split_test, config.seed + 0x5e11);
        report.protocol = fmt::format("test set split by domain, {:.0f}/{:.0f}", 100 * (1 - config.split_test),
                                      100 * config.split_test);
    } else {
        report.protocol = "train -> test";
    }
    const data::Dataset& train = config.split_test > 0 ? split_fit : train_in;
    const data::Dataset& test = config.split_test > 0 ? split_score : test_in;
    Tensor tr = encode_dataset(encoder, train, image_size, device);
    Tensor te = encode_dataset(encoder, test, image_size, device);
    auto log = [&](const ProbeResult& p) {
        if (verbose)
            std::cerr << fmt::format("[eval {}] probe {:<12} test acc {:.3f} (chance {:.3f}, {} epochs)\n", name,
                                     p.label, p.test_accuracy, p.chance, p.epochs);
    };
    auto log_reg = [&](const RegressionResult& p) {
        if (verbose)
            std::cerr << fmt::format("[eval {}] probe {:<12} test MAE {:.4g} (predicting the mean: {:.4g}, {} epochs)\n",
                                     name, p.label, p.test_mae, p.baseline_mae, p.epochs);
    };
    report.domain = train_probe("domain", tr, train.domains, te, test.domains, train.n_domains, config, device);
    log(report.domain);
    for (std::int64_t a = 0; a < train.num_attributes(); ++a) {
        ProbeConfig c = config;
        c.seed = config.seed + static_cast<std::uint64_t>(a) + 1;
        const std::string& label = train.attribute_names[a];
        if (std::find(config.regress.begin(), config.regress.end(), label) != config.regress.end()) {
            report.regressions.push_back(train_regression_probe(label, tr, attribute_as_target(train, a), te,
                                                                attribute_as_target(test, a), 1, c, device));
            log_reg(report.regressions.back());
            continue;
        }
        std::vector<std::int64_t> ytr, yte;
        for (std::int64_t i = 0; i < train.count; ++i) ytr.push_back(train.attribute(i, a));
        for (std::int64_t i = 0; i < test.count; ++i) yte.push_back(test.attribute(i, a));
        report.attributes.push_back(train_probe(label, tr, ytr, te, yte, train.attribute_classes[a], c, device));
        log(report.attributes.back());
    }
    for (std::size_t t = 0; t < train.targets.size(); ++t) {
        const auto& target = train.targets[t];
        auto it = std::find_if(test.targets.begin(), test.targets.end(),
                               [&](const data::RegressionTarget& x) { return x.name == target.name; });
        DCODR_CHECK(it != test.targets.end() && it->dims == target.dims,
                    "{} has regression target '{}' ({} values) but {} has no such target", train.source, target.name,
                    target.dims, test.source);
        ProbeConfig c = config;
        c.seed = config.seed + static_cast<std::uint64_t>(train.num_attributes() + 1 + static_cast<std::int64_t>(t));
        report.regressions.push_back(
            train_regression_probe(target.name, tr, target.values, te, it->values, target.dims, c, device));
        log_reg(report.regressions.back());
    }
    report.retrieval = retrieval(tr, train, te, test, config.retrieval);
    return report;
}

json::Value EvalReport::to_json() const {
    auto probe_json = [](const ProbeResult& p) {
        json::Value v = json::Value::object();
        v["classes"] = p.classes;
        v["test_accuracy"] = p.test_accuracy;
        v["val_accuracy"] = p.val_accuracy;
        v["chance"] = p.chance;
        v["epochs"] = p.epochs;
        return v;
    };
    json::Value v = json::Value::object();
    v["name"] = name;
    v["domain"] = probe_json(domain);
    json::Value attrs = json::Value::object();
    for (auto& a : attributes) attrs[a.label] = probe_json(a);
    v["attributes"] = attrs;
    v["protocol"] = protocol;
    if (!regressions.empty()) {
        json::Value regs = json::Value::object();
        for (auto& r : regressions) {
            json::Value e = json::Value::object();
            e["dims"] = r.dims;
            e["test_mae"] = r.test_mae;
            e["val_mae"] = r.val_mae;
            e["baseline_mae"] = r.baseline_mae;
            e["epochs"] = r.epochs;
            regs[r.label] = e;
        }
        v["regression"] = regs;
    }
    json::Value ret = json::Value::object();
    for (std::size_t i = 0; i < retrieval.attributes.size(); ++i) ret[retrieval.attributes[i]] = retrieval.top1[i];
    ret["all"] = retrieval.top1_all;
    v["retrieval_top1"] = ret;
    json::Value rules = json::Value::object();
    bool any_rule = false;
    for (std::size_t i = 0; i < retrieval.match_rules.size(); ++i) {
        rules[retrieval.attributes[i]] = retrieval.match_rules[i];
        any_rule = any_rule || retrieval.match_rules[i] != "exact";
    }
    if (any_rule) v["retrieval_match"] = rules;
    return v;
}

std::string format_reports(const std::vector<EvalReport>& reports) {
    if (reports.empty()) return "";
    std::string out = fmt::format("{:<34}", "probe accuracy (test)");
    for (auto& r : reports) out += fmt::format(" {:>16}", r.name);
    out += fmt::format(" {:>8}\n", "chance");
    auto line = [&](const std::string& label, auto get, double chance) {
        out += fmt::format("{:<34}", label);
        for (auto& r : reports) out += fmt::format(" {:>16.3f}", get(r));
        out += chance >= 0 ? fmt::format(" {:>8.3f}\n", chance) : "\n";
    };
    const EvalReport& first = reports[0];
    line("domain (invariance, lower=better)", [](const EvalReport& r) { return r.domain.test_accuracy; },
         first.domain.chance);
    for (std::size_t a = 0; a < first.attributes.size(); ++a)
        line(first.attributes[a].label + " (higher=better)",
             [a](const EvalReport& r) { return r.attributes[a].test_accuracy; }, first.attributes[a].chance);
    if (!first.regressions.empty()) {
        out += fmt::format("{:<34}{:>{}}\n", "regression MAE (lower=better)", "mean", 17 * reports.size() + 9);
        for (std::size_t a = 0; a < first.regressions.size(); ++a)
            line("  " + first.regressions[a].label, [a](const EvalReport& r) { return r.regressions[a].test_mae; },
                 first.regressions[a].baseline_mae);
    }
    out += "retrieval top-1 (higher=better)\n";
    for (std::size_t a = 0; a < first.retrieval.attributes.size(); ++a) {
        const std::string& rule = a < first.retrieval.match_rules.size() ? first.retrieval.match_rules[a] : "exact";
        line("  " + first.retrieval.attributes[a] + (rule == "exact" ? "" : " (" + rule + ")"),
             [a](const EvalReport& r) { return r.retrieval.top1[a]; }, -1);
    }
    line("  all attributes", [](const EvalReport& r) { return r.retrieval.top1_all; }, -1);
    return out;
}

}  // namespace dcodr::method
