#include "method/evaluation.h"

#include <algorithm>
#include <iostream>
#include <map>

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

ProbeResult train_probe(const std::string& label, const Tensor& train_codes, const std::vector<std::int64_t>& train_labels,
                        const Tensor& test_codes, const std::vector<std::int64_t>& test_labels, std::int64_t classes,
                        const ProbeConfig& c, Device device) {
    DCODR_CHECK(train_codes.size(0) == static_cast<std::int64_t>(train_labels.size()),
                "probe '{}': {} codes but {} labels", label, train_codes.size(0), train_labels.size());
    // 90/10 split of the train codes (seeded shuffle).
    std::int64_t n = train_codes.size(0);
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[i] = i;
    data::RandomStream rng(data::mix64(c.seed, 0x9e0be));
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    std::int64_t n_val = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(n) * c.val_fraction));
    std::vector<std::int64_t> val_idx(order.begin(), order.begin() + n_val), fit_idx(order.begin() + n_val, order.end());
    Tensor fit_x = rows(train_codes, fit_idx).to(device), val_x = rows(train_codes, val_idx);
    std::vector<std::int64_t> fit_y = pick(train_labels, fit_idx), val_y = pick(train_labels, val_idx);

    nn::manual_seed(data::mix64(c.seed, 0x9b0be));
    auto probe = make_probe(train_codes.size(1), classes, c);
    probe->to(device);
    nn::Adam adam({{probe->named_parameters(), c.lr}});
    ProbeResult r{label, classes, 0, -1, majority_frequency(test_labels), 0};
    std::vector<nn::NamedTensor> best;
    std::int64_t since_best = 0;
    const std::int64_t n_fit = static_cast<std::int64_t>(fit_idx.size());
    for (std::int64_t epoch = 0; epoch < c.max_epochs && since_best < c.patience; ++epoch) {
        probe->train();
        std::vector<std::int64_t> perm(static_cast<std::size_t>(n_fit));
        for (std::int64_t i = 0; i < n_fit; ++i) perm[i] = i;
        for (std::int64_t i = n_fit - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
        for (std::int64_t at = 0; at < n_fit; at += c.batch_size) {
            std::int64_t end = std::min(n_fit, at + c.batch_size);
            if (end - at < 2) break;  // batch norm needs two samples
            std::vector<std::int64_t> b(perm.begin() + at, perm.begin() + end);
            Tensor bi = Tensor::from_vector(b, {static_cast<std::int64_t>(b.size())}).to(device);
            Tensor x = kernels::index_select(fit_x, 0, bi);
            Tensor y = Tensor::from_vector(pick(fit_y, b), {static_cast<std::int64_t>(b.size())}).to(device);
            adam.zero_grad();
            backward(cross_entropy(probe->forward(x), y));
            adam.step();
        }
        ++r.epochs;
        double val = accuracy(*probe, val_x, val_y, device);
        if (val > r.val_accuracy) {
            r.val_accuracy = val;
            since_best = 0;
            best.clear();
            for (auto& nt : probe->state_dict()) best.push_back({nt.name, nt.tensor.clone()});
        } else {
            ++since_best;
        }
    }
    auto state = probe->state_dict();  // restore the best epoch's weights
    for (std::size_t i = 0; i < state.size() && i < best.size(); ++i) state[i].tensor.copy_(best[i].tensor);
    r.test_accuracy = accuracy(*probe, test_codes, test_labels, device);
    return r;
}

RetrievalResult retrieval(const Tensor& train_codes, const data::Dataset& train, const Tensor& test_codes,
                          const data::Dataset& test) {
    RetrievalResult r;
    r.attributes = test.attribute_names;
    const std::int64_t k = test.num_attributes(), nt = test_codes.size(0), ntr = train_codes.size(0);
    r.top1.assign(static_cast<std::size_t>(k), 0.0);
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
                bool match = mine == theirs;
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

EvalReport evaluate(nn::DcodrEncoder& encoder, const data::Dataset& train, const data::Dataset& test,
                    std::int64_t image_size, const ProbeConfig& config, Device device, const std::string& name,
                    bool verbose) {
    EvalReport report;
    report.name = name;
    Tensor tr = encode_dataset(encoder, train, image_size, device);
    Tensor te = encode_dataset(encoder, test, image_size, device);
    auto log = [&](const ProbeResult& p) {
        if (verbose)
            std::cerr << fmt::format("[eval {}] probe {:<12} test acc {:.3f} (chance {:.3f}, {} epochs)\n", name,
                                     p.label, p.test_accuracy, p.chance, p.epochs);
    };
    report.domain = train_probe("domain", tr, train.domains, te, test.domains, train.n_domains, config, device);
    log(report.domain);
    for (std::int64_t a = 0; a < train.num_attributes(); ++a) {
        std::vector<std::int64_t> ytr, yte;
        for (std::int64_t i = 0; i < train.count; ++i) ytr.push_back(train.attribute(i, a));
        for (std::int64_t i = 0; i < test.count; ++i) yte.push_back(test.attribute(i, a));
        ProbeConfig c = config;
        c.seed = config.seed + static_cast<std::uint64_t>(a) + 1;
        report.attributes.push_back(
            train_probe(train.attribute_names[a], tr, ytr, te, yte, train.attribute_classes[a], c, device));
        log(report.attributes.back());
    }
    report.retrieval = retrieval(tr, train, te, test);
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
    json::Value ret = json::Value::object();
    for (std::size_t i = 0; i < retrieval.attributes.size(); ++i) ret[retrieval.attributes[i]] = retrieval.top1[i];
    ret["all"] = retrieval.top1_all;
    v["retrieval_top1"] = ret;
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
    out += "retrieval top-1 (higher=better)\n";
    for (std::size_t a = 0; a < first.retrieval.attributes.size(); ++a)
        line("  " + first.retrieval.attributes[a], [a](const EvalReport& r) { return r.retrieval.top1[a]; }, -1);
    line("  all attributes", [](const EvalReport& r) { return r.retrieval.top1_all; }, -1);
    return out;
}

}  // namespace dcodr::method
