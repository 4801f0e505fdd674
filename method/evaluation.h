// The paper's evaluation protocol (../shared/docs/dcodr-method.md, "Evaluation protocol"):
// encode train and test, L2-normalise; train an MLP probe per label on 90% of the train codes
// with early stopping on the other 10%; report test accuracy for the domain (invariance:
// lower is better, compare with chance) and for each attribute (informativeness: higher is
// better); and nearest-neighbour retrieval of attributes.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "method/encoder_file.h"
#include "nn/dcodr_encoder.h"
#include "nn/json.h"

namespace dcodr::method {

struct ProbeConfig {
    std::int64_t hidden = 128;
    std::int64_t hidden_layers = 5;  // each Linear(no bias) -> BatchNorm1d -> LeakyReLU
    double lr = 1e-3;
    std::int64_t batch_size = 128;
    std::int64_t max_epochs = 100;
    std::int64_t patience = 7;       // epochs without a better validation accuracy
    double val_fraction = 0.1;
    std::uint64_t seed = 0;
};

struct ProbeResult {
    std::string label;       // "domain" or the attribute's name
    std::int64_t classes = 0;
    double test_accuracy = 0;
    double val_accuracy = 0;
    double chance = 0;       // majority-class frequency on the test split
    std::int64_t epochs = 0; // epochs run before early stopping
};

// codes [N, D] float32 CPU (normalised), labels in [0, classes).
ProbeResult train_probe(const std::string& label, const Tensor& train_codes, const std::vector<std::int64_t>& train_labels,
                        const Tensor& test_codes, const std::vector<std::int64_t>& test_labels, std::int64_t classes,
                        const ProbeConfig& config, Device device = Device::cpu());

struct RetrievalResult {
    std::vector<std::string> attributes;
    std::vector<double> top1;  // per attribute
    double top1_all = 0;       // all attributes match at once
};
// For each test code, its nearest other code (L2) among train and test; does its label match?
RetrievalResult retrieval(const Tensor& train_codes, const data::Dataset& train, const Tensor& test_codes,
                          const data::Dataset& test);

// encode_dataset (the codes of a data set) is in method/encoder_file.h, part of the inference library.

struct EvalReport {
    std::string name;
    ProbeResult domain;
    std::vector<ProbeResult> attributes;
    RetrievalResult retrieval;
    json::Value to_json() const;
};

EvalReport evaluate(nn::DcodrEncoder& encoder, const data::Dataset& train, const data::Dataset& test,
                    std::int64_t image_size, const ProbeConfig& config, Device device, const std::string& name = "",
                    bool verbose = false);

// A terminal table with one column per report (the demo prints DCoDR-norec next to the baseline).
std::string format_reports(const std::vector<EvalReport>& reports);

}  // namespace dcodr::method
