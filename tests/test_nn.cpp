// The module system: torchvision names, shapes and order; modes; device/dtype moves.
#include <catch2/catch.hpp>

#include "nn/init.h"
#include "nn/layers.h"
#include "nn/resnet.h"
#include "tests/fixture_resnet.h"
#include "tests/test_util.h"

using namespace dcodr;

static void check_against_torchvision(int depth) {
    auto spec = testing::load_json_file(testing::fixture_path(fmt::format("torchvision-resnet{}-state-dict.json", depth)));
    nn::ResNet model(depth, 1000);
    auto state = model.state_dict();
    REQUIRE(state.size() == spec.size());
    for (std::size_t i = 0; i < state.size(); ++i) {
        const auto& s = spec.at(i);
        INFO("resnet" << depth << " tensor " << i << ": " << state[i].name);
        REQUIRE(state[i].name == s.at("name").as_string());
        Shape shape;
        for (auto& d : s.at("shape").as_array()) shape.push_back(d.as_int());
        REQUIRE(state[i].tensor.shape() == shape);
        REQUIRE(dtype_name(state[i].tensor.dtype()) == s.at("dtype").as_string());
    }
}

TEST_CASE("ResNet state dicts match torchvision's names, shapes, dtypes and order") {
    check_against_torchvision(18);
    check_against_torchvision(34);
    check_against_torchvision(50);
}

TEST_CASE("ResNet initialisation follows torchvision's scheme") {
    nn::manual_seed(3);
    nn::ResNet model(18, 10);
    // conv: N(0, sqrt(2 / fan_out)); fan_out of layer1.0.conv1 = 64 * 9.
    Tensor w = model.layer1->children()[0].second->named_parameters()[0].tensor;
    auto v = w.to_vector();
    double ss = 0;
    for (double x : v) ss += x * x;
    REQUIRE(std::sqrt(ss / static_cast<double>(v.size())) == Approx(std::sqrt(2.0 / 576)).epsilon(0.05));
    REQUIRE(model.bn1->weight.to_vector() == std::vector<double>(64, 1.0));
    REQUIRE(model.bn1->bias.to_vector() == std::vector<double>(64, 0.0));
    // Same seed, same model.
    nn::manual_seed(3);
    nn::ResNet again(18, 10);
    REQUIRE(again.conv1->weight.to_vector() == model.conv1->weight.to_vector());
}

TEST_CASE("train/eval mode switches batch norm statistics") {
    nn::BatchNorm bn(3);
    Tensor x = Tensor::uniform({8, 3, 2, 2}, 0, 4, 1);
    bn.train();
    bn(x);
    REQUIRE(bn.num_batches_tracked.item() == 1);
    auto rm = bn.running_mean.to_vector();
    REQUIRE(rm[0] == Approx(0.2).margin(0.05));  // 0.9 * 0 + 0.1 * ~2
    bn.eval();
    Tensor y = bn(x);
    REQUIRE(bn.num_batches_tracked.item() == 1);
    REQUIRE(bn.running_mean.to_vector() == rm);  // eval leaves running stats alone
    REQUIRE(y.shape() == x.shape());
}

TEST_CASE("Sequential names children 0, 1, ... and dtype moves keep requires_grad") {
    nn::Sequential seq({std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::ReLU>(),
                        std::make_shared<nn::Linear>(3, 2, false)});
    auto names = seq.named_parameters();
    REQUIRE(names.size() == 3);
    REQUIRE(names[0].name == "0.weight");
    REQUIRE(names[1].name == "0.bias");
    REQUIRE(names[2].name == "2.weight");
    seq.to(DType::f64);
    REQUIRE(seq.parameters()[0].dtype() == DType::f64);
    REQUIRE(seq.parameters()[0].requires_grad());
    REQUIRE(seq(Tensor::ones({5, 4}, DType::f64)).shape() == Shape{5, 2});
    REQUIRE(seq.parameter_count() == 4 * 3 + 3 + 3 * 2);
}

TEST_CASE("layers reject bad input with clear errors") {
    nn::Linear lin(4, 3);
    REQUIRE_THROWS_WITH(lin(Tensor::zeros({2, 5})), Catch::Contains("does not match weight"));
    nn::Conv2d conv(3, 8, 3);
    REQUIRE_THROWS_WITH(conv(Tensor::zeros({1, 4, 8, 8})), Catch::Contains("input channels"));
    REQUIRE_THROWS_WITH(nn::ResNet(19), Catch::Contains("18, 34 or 50"));
}
