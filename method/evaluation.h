// The paper's evaluation protocol (../shared/docs/dcodr-method.md, "Evaluation protocol"):
// encode train and test, L2-normalise; train an MLP probe per label on 90% of the train codes
// with early stopping on the other 10%; report test accuracy for the domain (invariance:
// lower is better, compare with chance) and for each attribute (informativeness: higher is
// better); and nearest-neighbour retrieval of attributes.
//
// Two protocol details of the authors' per-data-set scripts are options here: attributes
// regressed (L1) instead of classified (their CelebA landmarks; a data set's `landmarks` always
// are), and retrieval that counts an attribute as matched within a tolerance, circular for
// attributes that wrap around (their SmallNORB azimuth: +-2 steps of 18). The tolerance only
// concerns retrieval: a probe is scored on the exact class, as the authors score it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "method/encoder_file.h"
#include "nn/dcodr_encoder.h"
#include "nn/json.h"

namespace dcodr::method {

// Retrieval's notion of a match per attribute: |a - b| <= tolerance (0 = equal), with the
// distance taken around the circle of the attribute's classes when it is circular.
struct RetrievalOptions {
    std::map<std::string, std::int64_t> tolerance;  // attribute name -> steps
    std::vector<std::string> circular;              // attribute names
    bool empty() const { return tolerance.empty() && circular.empty(); }
};

struct ProbeConfig {
    std::int64_t hidden = 128;
    std::int64_t hidden_layers = 5;  // each Linear(no bias) -> BatchNorm1d -> LeakyReLU
    double lr = 1e-3;
    std::int64_t batch_size = 128;
    std::int64_t max_epochs = 100;
    std::int64_t patience = 7;       // epochs without a better validation accuracy
    double val_fraction = 0.1;
    std::uint64_t seed = 0;

    // The evaluation protocol's per-data-set choices (see the top of this file).
    std::vector<std::string> regress;   // attributes probed by regression instead of classification
    RetrievalOptions retrieval;
    // > 0: the authors' CelebA protocol. Probes and retrieval use the test set alone: its
    // domains with one image are dropped, the rest is split stratified by domain, this fraction
    // scored and the remainder used to train the probes (their code: 0.25). 0: train -> test.
    double split_test = 0;
};

struct RegressionResult {
    std::string label;          // the attribute's or target's name
    std::int64_t dims = 0;      // values regressed per image
    double test_mae = 0;        // mean absolute error on the test split (lower is better)
    double val_mae = 0;
    double baseline_mae = 0;    // predicting the mean of the probe's training targets
    std::int64_t epochs = 0;
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

// Regression probe: the same MLP with `dims` outputs, trained with L1 (mean |prediction -
// target|, what the authors' nn.L1Loss computes), early stopped on the validation error.
// Targets are [N * dims] row-major.
RegressionResult train_regression_probe(const std::string& label, const Tensor& train_codes,
                                        const std::vector<float>& train_targets, const Tensor& test_codes,
                                        const std::vector<float>& test_targets, std::int64_t dims,
                                        const ProbeConfig& config, Device device = Device::cpu());

struct RetrievalResult {
    std::vector<std::string> attributes;
    std::vector<double> top1;  // per attribute
    double top1_all = 0;       // all attributes match at once
    std::vector<std::string> match_rules;  // per attribute: "exact", "+-2", "+-2 circular of 18"
};
// For each test code, its nearest other code (L2) among train and test; does its label match
// (within the attribute's tolerance)? Unknown attribute names in `options` are an error.
RetrievalResult retrieval(const Tensor& train_codes, const data::Dataset& train, const Tensor& test_codes,
                          const data::Dataset& test, const RetrievalOptions& options = {});

// encode_dataset (the codes of a data set) is in method/encoder_file.h, part of the inference library.

struct EvalReport {
    std::string name;
    ProbeResult domain;
    std::vector<ProbeResult> attributes;        // classified attributes
    std::vector<RegressionResult> regressions;  // regressed attributes and targets (landmarks)
    RetrievalResult retrieval;
    std::string protocol;                       // "train->test" or "test split 75/25 ..."
    json::Value to_json() const;
};

// Refuses attribute names in --probe-regress, --retrieval-tolerance and --circular that `test`
// does not have (before a long training run, not after it).
void check_eval_options(const ProbeConfig& config, const data::Dataset& test);

EvalReport evaluate(nn::DcodrEncoder& encoder, const data::Dataset& train, const data::Dataset& test,
                    std::int64_t image_size, const ProbeConfig& config, Device device, const std::string& name = "",
                    bool verbose = false);

// A terminal table with one column per report (the demo prints DCoDR-norec next to the baseline).
std::string format_reports(const std::vector<EvalReport>& reports);

}  // namespace dcodr::method
