// A small training run on generated data lowers the loss and moves the probes the right way.
#include <catch2/catch.hpp>

#include "method/evaluation.h"
#include "tests/test_util.h"
#include "tests/train_fixtures.h"

using namespace dcodr;

TEST_CASE("DCoDR-norec training lowers the loss and makes attributes decodable") {
    auto all = testing::tiny_shapes(600, 11);
    auto [train, test] = data::train_test_split(all, 0.25, 1);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 60);
    method::Trainer trainer(cfg, train);
    method::ProbeConfig probe;
    probe.max_epochs = 15;
    probe.patience = 4;
    // Probe before training (random encoder) and after.
    auto before = method::evaluate(trainer.encoder(), train, test, cfg.image_size, probe, Device::cpu());
    auto steps = trainer.run();
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) {
        first += steps[i].loss / 10;
        last += steps[steps.size() - 1 - i].loss / 10;
    }
    INFO("mean loss of the first 10 steps " << first << ", of the last 10 " << last);
    REQUIRE(last < first * 0.85);
    auto after = method::evaluate(trainer.encoder(), train, test, cfg.image_size, probe, Device::cpu());
    // Colour attributes become decodable well above their level at initialisation.
    double gain = 0;
    for (std::size_t a = 0; a < after.attributes.size(); ++a) {
        INFO(after.attributes[a].label << ": " << before.attributes[a].test_accuracy << " -> "
                                       << after.attributes[a].test_accuracy);
        gain += after.attributes[a].test_accuracy - before.attributes[a].test_accuracy;
    }
    INFO("summed attribute-probe gain " << gain);
    REQUIRE(gain > 0.1);
}
