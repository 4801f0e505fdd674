#include "method/report/train_log.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nn/json.h"

namespace dcodr::report {

bool TrainLog::has(const std::string& field) const {
    auto it = columns.find(field);
    if (it == columns.end()) return false;
    for (double v : it->second)
        if (std::isfinite(v)) return true;
    return false;
}

TrainLog read_train_log(const std::string& path) {
    TrainLog log;
    if (!std::filesystem::exists(path)) return log;
    std::ifstream in(path);
    std::map<double, std::map<std::string, double>> by_step;  // later lines replace earlier ones
    std::string line;
    while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            json::Value v = json::parse(line);
            const json::Value* step = v.is_object() ? v.find("step") : nullptr;
            if (!step || !step->is_number()) {
                ++log.unreadable_lines;
                continue;
            }
            auto& fields = by_step[step->as_double()];
            fields.clear();
            for (const auto& [key, value] : v.as_object())
                if (key != "step" && value.is_number()) fields[key] = value.as_double();
        } catch (const std::exception&) {
            ++log.unreadable_lines;
        }
    }
    for (const auto& [step, fields] : by_step)
        for (const auto& [key, value] : fields) log.columns.try_emplace(key);
    for (const auto& [step, fields] : by_step) {
        log.steps.push_back(step);
        for (auto& [key, column] : log.columns) {
            auto it = fields.find(key);
            column.push_back(it == fields.end() ? NAN : it->second);
        }
    }
    return log;
}

}  // namespace dcodr::report
