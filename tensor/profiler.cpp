// Profiler state: which device is wrapped, the timers not yet read, and the totals.
#include "tensor/profiler.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "tensor/backend.h"

namespace dcodr::profiler {

namespace {
struct Pending {
    std::string op, detail;
    Phase phase;
    std::unique_ptr<DeviceTimer> timer;
};

thread_local Phase t_phase = Phase::forward;
constexpr int kPhases = 3;

std::mutex g_mutex;
std::atomic<bool> g_enabled{false};  // read on every backend_for(): no lock when off
Device g_device = Device::cpu();
std::vector<Pending> g_pending;
std::map<std::pair<std::string, std::string>, Row> g_totals;
double g_phase_ms[kPhases] = {};

// Reads the pending timers into the totals; caller holds g_mutex. Reading waits for the
// device, so it is done in batches (every 4096 ops, and at flush) rather than per op.
void drain() {
    for (auto& p : g_pending) {
        Row& r = g_totals[{p.op, p.detail}];
        if (r.calls == 0) {
            r.op = p.op;
            r.detail = p.detail;
        }
        double ms = p.timer->elapsed_ms();
        r.calls += 1;
        r.ms += ms;
        g_phase_ms[static_cast<int>(p.phase)] += ms;
    }
    g_pending.clear();
}

std::vector<Row> sorted(std::vector<Row> rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ms > b.ms; });
    return rows;
}
}  // namespace

const char* phase_name(Phase p) {
    static const char* names[kPhases] = {"forward", "backward", "optimizer"};
    return names[static_cast<int>(p)];
}
PhaseScope::PhaseScope(Phase p) : previous_(t_phase) { t_phase = p; }
PhaseScope::~PhaseScope() { t_phase = previous_; }

void enable(Device device) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_enabled = true;
    g_device = device;
}

void disable() {
    flush();
    std::lock_guard<std::mutex> lock(g_mutex);
    g_enabled = false;
}

bool enabled_for(Device device) {
    if (!g_enabled.load(std::memory_order_relaxed)) return false;
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_enabled && g_device == device;
}

void record(std::string op, std::string detail, std::unique_ptr<DeviceTimer> timer) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_pending.push_back({std::move(op), std::move(detail), t_phase, std::move(timer)});
    if (g_pending.size() >= 4096) drain();  // bounds the number of live GPU events
}

void flush() {
    std::lock_guard<std::mutex> lock(g_mutex);
    drain();
}

std::vector<Row> rows_by_detail() {
    flush();
    std::lock_guard<std::mutex> lock(g_mutex);
    std::vector<Row> rows;
    for (auto& [key, r] : g_totals) rows.push_back(r);
    return sorted(std::move(rows));
}

std::vector<Row> rows_by_op() {
    std::map<std::string, Row> by_op;
    for (const Row& r : rows_by_detail()) {
        Row& t = by_op[r.op];
        t.op = r.op;
        t.calls += r.calls;
        t.ms += r.ms;
    }
    std::vector<Row> rows;
    for (auto& [op, r] : by_op) rows.push_back(r);
    return sorted(std::move(rows));
}

std::vector<std::pair<Phase, double>> phase_totals() {
    flush();
    std::lock_guard<std::mutex> lock(g_mutex);
    std::vector<std::pair<Phase, double>> out;
    for (int i = 0; i < kPhases; ++i) out.push_back({static_cast<Phase>(i), g_phase_ms[i]});
    return out;
}

void reset() {
    std::lock_guard<std::mutex> lock(g_mutex);
    drain();
    g_totals.clear();
    for (double& ms : g_phase_ms) ms = 0;
}

}  // namespace dcodr::profiler
