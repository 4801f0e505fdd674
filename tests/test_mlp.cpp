// A small network learns a toy task end to end: the engine, the modules and Adam together.
#include <catch2/catch.hpp>

#include "nn/init.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("a 2-layer MLP learns XOR-like quadrants") {
    nn::manual_seed(11);
    auto mlp = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Linear>(2, 32), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(32, 2)});
    Tensor x = Tensor::uniform({256, 2}, -1, 1, 12);
    auto xv = x.to_vector();
    std::vector<std::int64_t> labels(256);
    for (int i = 0; i < 256; ++i) labels[i] = (xv[2 * i] > 0) != (xv[2 * i + 1] > 0);
    Tensor y = Tensor::from_vector(labels, {256});

    std::vector<nn::NamedTensor> params = mlp->named_parameters();
    nn::Adam opt({{params, 0.02}});
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
        opt.zero_grad();
        Tensor loss = cross_entropy((*mlp)(x), y);
        backward(loss);
        opt.step();
        if (step == 0) first = loss.item();
        last = loss.item();
    }
    REQUIRE(last < 0.25 * first);
    Tensor logits = (*mlp)(x);
    auto pred = kernels::max(logits, 1).second.to_int_vector();
    int correct = 0;
    for (int i = 0; i < 256; ++i) correct += pred[i] == labels[i];
    REQUIRE(correct >= 240);
}
