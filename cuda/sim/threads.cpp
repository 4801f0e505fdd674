// CUDA simulator: the block scheduler. Each CUDA thread of a block is a fiber (its own stack,
// switched cooperatively on the launching host thread); see dcodr_sim/kernel_sim.h for the
// rules it enforces. Fibers switch with a few instructions on x86-64 (cheap enough that a
// reduction with thousands of shuffles per block stays fast) and with ucontext elsewhere.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cuda/check.h"
#include "dcodr_sim/counters.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace dcodr::cuda::sim {

namespace {

// ---------------------------------------------------------------- context switch

#if defined(__x86_64__)
extern "C" void dcodr_sim_switch(void** save_sp, void* load_sp);
// Saves the callee-saved registers of the System V ABI on the current stack, stores the stack
// pointer in *save_sp, loads load_sp and restores the registers saved there.
asm(R"(
    .text
    .p2align 4
    .globl dcodr_sim_switch
    .hidden dcodr_sim_switch
    .type dcodr_sim_switch, @function
dcodr_sim_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size dcodr_sim_switch, .-dcodr_sim_switch
)");
struct Context {
    void* sp = nullptr;
};
void switch_context(Context& from, Context& to) { dcodr_sim_switch(&from.sp, to.sp); }
void make_context(Context& c, char* stack, std::size_t size, void (*entry)()) {
    auto top = reinterpret_cast<std::uintptr_t>(stack + size) & ~std::uintptr_t(15);
    auto* sp = reinterpret_cast<std::uintptr_t*>(top);
    *--sp = 0;                                            // entry's return address: it never returns
    *--sp = reinterpret_cast<std::uintptr_t>(entry);      // where dcodr_sim_switch's `ret` goes
    for (int i = 0; i < 6; ++i) *--sp = 0;                // rbp rbx r12 r13 r14 r15
    c.sp = sp;
}
#else
struct Context {
    ucontext_t uc;
};
void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
void make_context(Context& c, char* stack, std::size_t size, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}
#endif

// ---------------------------------------------------------------- stacks

// Every simulated thread of a block has its own stack, and the scheduler visits them all at
// each barrier: with one 4 KiB page per stack that is a TLB miss per switch. So the stacks of a
// thread's 1024 fibers are carved from one region backed by transparent huge pages where the
// kernel offers them (madvise), and overflow is caught by a canary at each stack's low end
// (checked after every block) rather than by guard pages, which would split the huge pages.
constexpr std::size_t kStackBytes = 64 * 1024;
constexpr unsigned kMaxThreads = 1024;
constexpr std::uint64_t kCanary = 0x5a17c0de5a17c0deULL;
constexpr std::size_t kCanaryWords = 8;

struct StackArena {
    char* base = nullptr;
    std::size_t bytes = kStackBytes * kMaxThreads;
    StackArena() {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) cuda_fail("CUDA simulator: cannot map the fiber stacks");
        base = static_cast<char*>(p);
#ifdef MADV_HUGEPAGE
        madvise(base, bytes, MADV_HUGEPAGE);  // a hint: without huge pages it is only slower
#endif
        for (unsigned t = 0; t < kMaxThreads; ++t) {
            auto* low = reinterpret_cast<std::uint64_t*>(stack(t));
            for (std::size_t i = 0; i < kCanaryWords; ++i) low[i] = kCanary;
        }
    }
    ~StackArena() { munmap(base, bytes); }
    StackArena(const StackArena&) = delete;
    StackArena& operator=(const StackArena&) = delete;
    char* stack(unsigned t) const { return base + std::size_t(t) * kStackBytes; }
    bool intact(unsigned t) const {
        auto* low = reinterpret_cast<const std::uint64_t*>(stack(t));
        for (std::size_t i = 0; i < kCanaryWords; ++i)
            if (low[i] != kCanary) return false;
        return true;
    }
};

// ---------------------------------------------------------------- scheduler state

enum class Wait : std::uint8_t { none, block, warp, done };

struct Fiber {
    Context ctx;
    uint3 index{};              // threadIdx, computed once per launch
    Wait wait = Wait::none;
    unsigned mask = 0;          // for Wait::warp
    const char* what = "";      // the intrinsic it waits in (for messages)
    std::uint64_t exchanges = 0;
};

// Lanes write their shuffle value into bank (exchange count & 1): a lane can run at most one
// exchange ahead of the slowest lane of its warp, so it never overwrites values still being read.
struct WarpSlots {
    std::uint64_t bank[2][32];
};

// DCODR_CUDA_SIM_SCHEDULE=reverse runs the threads of each pass, and the blocks of each grid,
// in descending order instead of ascending. A GPU promises no order between warps or blocks,
// so a kernel whose results change with it has a race; running the parity suite both ways
// (test_cuda_parity_sim_reverse) exposes the ones that the default order would hide.
bool reverse_schedule() {
    static const bool on = [] {
        const char* v = std::getenv("DCODR_CUDA_SIM_SCHEDULE");
        return v && std::string(v) == "reverse";
    }();
    return on;
}

struct BlockRun {
    const char* kernel = "";
    void (*body)(void*) = nullptr;
    void* ctx = nullptr;
    unsigned n = 0;  // threads per block
    dim3 block;
    std::vector<Fiber> fibers;
    std::vector<WarpSlots> warps;
    Context scheduler;
    unsigned current = 0;    // index into fibers of the running one
    unsigned position = 0;   // its place in `order`
    std::vector<unsigned> order;  // the order a pass visits the fibers in
    std::string error;  // set by a fiber that broke a rule
};

thread_local BlockRun* g_run = nullptr;
thread_local std::unique_ptr<StackArena> g_stacks;

BlockRun& run() {
    if (!g_run) cuda_fail("CUDA simulator: a device intrinsic was called outside a kernel");
    return *g_run;
}

std::string where(const BlockRun& r) {
    return std::string("kernel ") + r.kernel + ", block (" + std::to_string(blockIdx.x) + "," +
           std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) + ")";
}

// Parks the current fiber and runs the next runnable one of this pass directly (one switch
// instead of two through the scheduler); the last one of the pass, or a fiber that broke a
// rule, returns to the scheduler.
void yield(Wait w, unsigned mask, const char* what) {
    BlockRun& r = run();
    Fiber& f = r.fibers[r.current];
    f.wait = w;
    f.mask = mask;
    f.what = what;
    unsigned pos = r.position + 1;
    while (pos < r.n && r.fibers[r.order[pos]].wait != Wait::none) ++pos;
    if (pos == r.n || !r.error.empty()) {
        switch_context(f.ctx, r.scheduler);
        return;
    }
    r.position = pos;
    r.current = r.order[pos];
    threadIdx = r.fibers[r.current].index;
    switch_context(f.ctx, r.fibers[r.current].ctx);
}

// A rule broken inside a fiber: park it for good and let the scheduler throw on its own stack.
[[noreturn]] void fiber_fail(const std::string& message) {
    BlockRun& r = run();
    if (r.error.empty()) r.error = message;
    yield(Wait::done, 0, "");
    __builtin_unreachable();
}

void fiber_entry() {
    BlockRun& r = *g_run;
    r.body(r.ctx);
    yield(Wait::done, 0, "");
    __builtin_unreachable();
}

std::string hex(unsigned m) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", m);
    return b;
}

// Releases every warp barrier whose lanes have all arrived; throws when one never can.
bool release_warps(BlockRun& r) {
    bool released = false;
    for (unsigned base = 0; base < r.n; base += 32) {
        unsigned first = base;
        while (first < r.n && first < base + 32 && r.fibers[first].wait != Wait::warp) ++first;
        if (first >= r.n || first >= base + 32) continue;
        unsigned mask = r.fibers[first].mask;
        bool ready = true;
        for (unsigned l = 0; l < 32; ++l) {
            if (!((mask >> l) & 1u)) continue;
            unsigned t = base + l;
            if (t >= r.n)
                cuda_fail("CUDA simulator: " + where(r) + ": " + r.fibers[first].what + " with mask " + hex(mask) +
                          " names lane " + std::to_string(l) + ", which does not exist (block of " +
                          std::to_string(r.n) + " threads)");
            const Fiber& f = r.fibers[t];
            if (f.wait == Wait::done)
                cuda_fail("CUDA simulator: " + where(r) + ": thread " + std::to_string(first) + " waits in " +
                          r.fibers[first].what + " with mask " + hex(mask) + " for lane " + std::to_string(l) +
                          " (thread " + std::to_string(t) + "), which has exited");
            if (f.wait != Wait::warp || f.mask != mask) ready = false;
        }
        if (!ready) continue;
        for (unsigned l = 0; l < 32; ++l)
            if ((mask >> l) & 1u) r.fibers[base + l].wait = Wait::none;
        released = true;
    }
    return released;
}

bool release_block(BlockRun& r) {
    unsigned waiting = 0, done = 0;
    for (const Fiber& f : r.fibers) {
        if (f.wait == Wait::block) ++waiting;
        else if (f.wait == Wait::done) ++done;
    }
    if (waiting == 0 || waiting + done != r.n) return false;
    if (done > 0)
        cuda_fail("CUDA simulator: " + where(r) + ": " + std::to_string(waiting) + " threads wait in __syncthreads " +
                  "but " + std::to_string(done) + " have exited (a barrier in divergent code)");
    for (Fiber& f : r.fibers) f.wait = Wait::none;
    return true;
}

[[noreturn]] void deadlock(const BlockRun& r) {
    std::string states;
    unsigned shown = 0;
    for (unsigned t = 0; t < r.n && shown < 8; ++t) {
        const Fiber& f = r.fibers[t];
        if (f.wait == Wait::done) continue;
        states += " thread " + std::to_string(t) +
                  (f.wait == Wait::block ? " in __syncthreads;" : " in " + std::string(f.what) + " mask " + hex(f.mask) + ";");
        ++shown;
    }
    cuda_fail("CUDA simulator: " + where(r) + ": threads wait at barriers that can never complete:" + states);
}

void run_block(BlockRun& r) {
    for (unsigned t = 0; t < r.n; ++t) {
        Fiber& f = r.fibers[t];
        f.wait = Wait::none;
        f.exchanges = 0;
        // Stack tops 64 KiB apart would all fall in the same cache sets; a per-thread offset
        // spreads the hot top-of-stack lines (registers saved at each switch) over the cache.
        std::size_t colour = (t % 127) * 64;
        make_context(f.ctx, g_stacks->stack(t), kStackBytes - colour, &fiber_entry);
    }
    for (;;) {
        // One pass: every runnable fiber, in thread order, runs until it finishes or waits
        // (each hands over to the next itself, see yield).
        unsigned pos = 0;
        while (pos < r.n && r.fibers[r.order[pos]].wait != Wait::none) ++pos;
        if (pos < r.n) {
            r.position = pos;
            r.current = r.order[pos];
            threadIdx = r.fibers[r.current].index;
            switch_context(r.scheduler, r.fibers[r.current].ctx);
            if (!r.error.empty()) cuda_fail("CUDA simulator: " + where(r) + ": " + r.error);
        }
        bool all_done = true;
        for (const Fiber& f : r.fibers) all_done = all_done && f.wait == Wait::done;
        if (all_done) break;
        if (!release_warps(r) && !release_block(r)) deadlock(r);
    }
    for (unsigned t = 0; t < r.n; ++t)
        if (!g_stacks->intact(t))
            cuda_fail("CUDA simulator: " + where(r) + ": thread " + std::to_string(t) + " overflowed its " +
                      std::to_string(kStackBytes / 1024) + " KiB stack");
}

}  // namespace

unsigned lane_id() { return run().current % 32; }

void block_barrier() { yield(Wait::block, 0, "__syncthreads"); }

void warp_barrier(unsigned mask, const char* what) {
    BlockRun& r = run();
    if (!((mask >> (r.current % 32)) & 1u))
        fiber_fail(std::string(what) + " called by lane " + std::to_string(r.current % 32) +
                   ", which its mask " + hex(mask) + " does not name");
    yield(Wait::warp, mask, what);
}

const std::uint64_t* warp_exchange(unsigned mask, std::uint64_t value, const char* what) {
    BlockRun& r = run();
    Fiber& f = r.fibers[r.current];
    std::uint64_t* bank = r.warps[r.current / 32].bank[f.exchanges++ & 1];
    bank[r.current % 32] = value;
    warp_barrier(mask, what);
    return bank;
}

bool run_grid(dim3 grid, dim3 block, const char* kernel, void (*body)(void*), void* ctx) {
    std::uint64_t threads = std::uint64_t(block.x) * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        set_launch_error(cudaErrorInvalidConfiguration,
                         std::string(kernel) + ": grid (" + std::to_string(grid.x) + "," + std::to_string(grid.y) +
                             "," + std::to_string(grid.z) + ") block (" + std::to_string(block.x) + "," +
                             std::to_string(block.y) + "," + std::to_string(block.z) + ")");
        return false;
    }
    if (g_run) cuda_fail("CUDA simulator: kernel launched from inside a kernel");
    count_launch();
    BlockRun r;
    r.kernel = kernel;
    r.body = body;
    r.ctx = ctx;
    r.n = static_cast<unsigned>(threads);
    r.block = block;
    r.fibers.resize(r.n);
    for (unsigned t = 0; t < r.n; ++t)
        r.fibers[t].index = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
    r.warps.resize((r.n + 31) / 32);
    r.order.resize(r.n);
    for (unsigned i = 0; i < r.n; ++i) r.order[i] = reverse_schedule() ? r.n - 1 - i : i;
    if (!g_stacks) g_stacks = std::make_unique<StackArena>();
    struct Active {
        explicit Active(BlockRun* p) { g_run = p; }
        ~Active() { g_run = nullptr; }
    } active(&r);
    blockDim = block;
    gridDim = grid;
    std::uint64_t blocks = std::uint64_t(grid.x) * grid.y * grid.z;
    for (std::uint64_t i = 0; i < blocks; ++i) {
        std::uint64_t b = reverse_schedule() ? blocks - 1 - i : i;
        blockIdx = {static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                    static_cast<unsigned>(b / (std::uint64_t(grid.x) * grid.y))};
        run_block(r);
    }
    return true;
}

}  // namespace dcodr::cuda::sim
