// The training options on the command line, derived from the one option table
// (method/train_options.h): the flags with their help groups, --config, and the merge order
//   defaults < checkpoint (--resume) < --config file < flags given explicitly.
#include <fstream>
#include <sstream>

#include "method/dataset_preset.h"
#include "method/train_options.h"
#include "tools/common.h"
#include "tools/option_checks.h"

namespace dcodr::tools {

namespace {

std::string default_text(const method::TrainOption& o) {
    const json::Value v = o.get(method::TrainConfig{});
    return v.is_string() ? v.as_string() : v.dump();
}

// The option's value on this command line: the one given, else the command's default.
json::Value flag_value(const Args& a, const method::TrainOption& o) {
    switch (o.kind) {
        case method::OptionKind::boolean: return a.enabled(o.flag);
        case method::OptionKind::integer: return a.integer(o.flag);
        case method::OptionKind::number: return a.number(o.flag);
        case method::OptionKind::text: break;
    }
    return a.str(o.flag);
}

// --config FILE: a JSON object of option keys (a checkpoint's "dcodr.config", --print-config's
// output, or any part of it). Unknown keys, wrong types and out-of-range values name the file.
json::Value config_file(const Args& a) {
    json::Value none = json::Value::object();
    if (!a.declared("config") || a.str("config").empty()) return none;
    const std::string path = a.str("config");
    const std::string source = "--config " + path;
    std::ifstream in(path, std::ios::binary);
    if (!in) usage_error("{}: cannot read the file", source);
    std::stringstream text;
    text << in.rdbuf();
    json::Value v;
    try {
        v = json::parse(text.str());
    } catch (const Error& e) {
        usage_error("{}: not valid JSON: {}", source, e.what());
    }
    method::TrainConfig scratch;
    as_usage_error([&] { method::set_train_options(scratch, v, source, /*reject_unknown=*/true, false); });
    for (const auto& [key, value] : v.as_object()) {
        const method::TrainOption& o = *method::find_train_option_by_key(key);
        method::TrainConfig one;  // the defaults with this one value: its own range, named with the file
        o.set(one, value);
        try {
            o.check(one);
        } catch (const Error& e) {
            usage_error("{}: key '{}': {}", source, key, e.what());
        }
    }
    return v;
}

method::TrainConfig merge(const Args& a, const json::Value* saved) {
    const json::Value file = config_file(a);
    json::Value merged = json::Value::object();
    for (const auto& o : method::train_options()) {
        json::Value v;
        if (saved && o.keep_saved_on_resume) v = saved->contains(o.key) ? saved->at(o.key) : o.get({});
        else if (a.given(o.flag)) v = flag_value(a, o);
        else if (file.contains(o.key)) v = file.at(o.key);
        else if (saved && saved->contains(o.key)) v = saved->at(o.key);
        else v = flag_value(a, o);
        merged[o.key] = v;
    }
    // A flag that also sets another option (--gen-lr -> --lr) unless that one is given too;
    // its own range first, so the message blames the flag that was typed.
    for (const auto& o : method::train_options()) {
        if (o.also_sets.empty() || !a.given(o.flag) || a.given(o.also_sets)) continue;
        method::TrainConfig one;
        o.set(one, merged.at(o.key));
        as_usage_error([&] { o.check(one); });
        merged[method::find_train_option_by_flag(o.also_sets)->key] = merged.at(o.key);
    }
    method::TrainConfig c;
    method::set_train_options(c, merged, saved ? "the checkpoint's configuration" : "the training options", false,
                              false);
    // --dataset-preset fills in what neither a flag nor --config set. A resumed run's values are
    // its checkpoint's already (the preset was applied when it started).
    if (!saved && !c.dataset_preset.empty()) {
        as_usage_error([&] {
            method::apply_dataset_preset(method::find_dataset_preset(c.dataset_preset), c,
                                         [&](const std::string& flag) {
                                             const method::TrainOption* o = method::find_train_option_by_flag(flag);
                                             return a.given(flag) || (o && file.contains(o->key));
                                         });
        });
    }
    as_usage_error([&] { method::check_train_config(c); });
    if (a.declared("probe-batch")) probe_config_from(a);  // --eval's options: refuse bad ones before training
    return c;
}

}  // namespace

void add_train_options(Args& a) {
    for (const auto& o : method::train_options()) {
        if (o.kind == method::OptionKind::boolean) a.flag(o.flag, o.help, o.group);
        else a.option(o.flag, default_text(o), o.help, o.group);
    }
    a.option("config", "", "read training options from this JSON file (a checkpoint's configuration, or the "
                           "output of dcodr train --print-config; keys may be left out); flags given explicitly "
                           "win over it",
             "runtime");
}

method::TrainConfig train_config_from(const Args& a) { return merge(a, nullptr); }

method::TrainConfig resume_config_from(const Args& a, const json::Value& saved) {
    DCODR_CHECK(saved.is_object(), "the checkpoint's configuration is not a JSON object");
    // Through TrainConfig first, so a checkpoint written before an option existed reads as what
    // it was trained with (e.g. the coverage sampler), not as this version's default.
    const json::Value normalized = method::TrainConfig::from_json(saved).to_json();
    return merge(a, &normalized);
}

}  // namespace dcodr::tools
