#include "nn/name_mapping.h"

#include "tensor/error.h"

namespace dcodr::nn {

namespace {
bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
}  // namespace

NameTarget parse_name_target(const std::string& text) {
    if (text == "dcodr") return NameTarget::dcodr;
    if (text == "torchvision") return NameTarget::torchvision;
    if (text == "keep") return NameTarget::keep;
    fail("--names: expected dcodr, torchvision or keep, got '{}'", text);
}

std::vector<std::pair<std::string, std::string>> parse_name_map(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        std::string rule = text.substr(start, end - start);
        std::size_t eq = rule.find('=');
        DCODR_CHECK(eq != std::string::npos && eq > 0, "--init-map: expected FROM=TO[,FROM=TO...], got '{}'", rule);
        out.emplace_back(rule.substr(0, eq), rule.substr(eq + 1));
        start = end + 1;
    }
    return out;
}

MappedName map_name(const std::string& name, const NameRules& rules) {
    std::string n = name;
    if (rules.target == NameTarget::keep) return {n, ""};
    if (!rules.prefix.empty()) {
        if (n.rfind(rules.prefix, 0) != 0) return {"", "outside --init-prefix '" + rules.prefix + "'"};
        n = n.substr(rules.prefix.size());
    }
    for (const auto& [from, to] : rules.map)
        if (n.rfind(from, 0) == 0) {
            n = to + n.substr(from.size());
            break;
        }
    for (bool again = true; again;) {
        again = false;
        if (starts(n, "encoder_k.") || n == "queue" || n == "queue_ptr") return {"", "MoCo's momentum encoder / queue"};
        if (starts(n, "optim.")) return {"", "optimizer state"};
        for (const char* w : {"module.", "_orig_mod.", "encoder_q.", "backbone.", "content_encoder.", "model."})
            if (starts(n, w)) {
                n = n.substr(std::string(w).size());
                again = true;
            }
    }
    // The DCoDR authors' encoder: resnet50 (fc = Sequential(Linear)), fc_layers, siamese head.
    for (const auto& [from, to] : {std::pair<const char*, const char*>{"resnet50.fc.0.", "resnet.fc."},
                                   {"resnet50.", "resnet."}, {"fc_layers.0.", "proj."}, {"siamese.module.", "head."},
                                   {"siamese.", "head."}})
        if (starts(n, from)) {
            n = to + n.substr(std::string(from).size());
            break;
        }
    if (rules.target == NameTarget::torchvision) return {starts(n, "resnet.") ? n.substr(7) : n, ""};
    for (const char* p : {"conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4."})
        if (starts(n, p)) return {"resnet." + n, ""};
    if (starts(n, "fc.")) return {"", "classifier / projection head (fc)"};
    return {n, ""};
}

}  // namespace dcodr::nn
