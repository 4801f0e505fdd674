// CUDA simulator: the block scheduler. Each CUDA thread of a block is a fiber (its own stack,
// switched cooperatively on one host thread); blocks are spread over a few host threads. See
// dcodr_sim/kernel_sim.h for the rules it enforces. Fibers switch with a few instructions on
// x86-64 (cheap enough that a reduction with thousands of shuffles per block stays fast) and
// with ucontext elsewhere.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda/check.h"
#include "dcodr_sim/counters.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

// AddressSanitizer tracks one stack per thread; a fiber switch it is not told about makes it
// report false stack overflows and poison the wrong memory, so every switch is announced
// (https://github.com/google/sanitizers/issues/189, the fiber-switch API).
#if defined(__SANITIZE_ADDRESS__)
#define DCODR_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DCODR_SIM_ASAN 1
#endif
#endif
#if DCODR_SIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
// A fiber that finished never unwinds its frames, so their redzones stay poisoned; the next
// block's fiber on the same stack memory starts clean.
#define DCODR_SIM_FRESH_STACK(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define DCODR_SIM_FRESH_STACK(p, n) ((void)0)
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
    const void* stack_bottom = nullptr;  // for the sanitizer annotations (unused otherwise)
    std::size_t stack_size = 0;
    void* fake_stack = nullptr;
};
void raw_switch(Context& from, Context& to) { dcodr_sim_switch(&from.sp, to.sp); }
void make_context(Context& c, char* stack, std::size_t size, void (*entry)()) {
    DCODR_SIM_FRESH_STACK(stack, size);
    c.stack_bottom = stack;
    c.stack_size = size;
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
    const void* stack_bottom = nullptr;
    std::size_t stack_size = 0;
    void* fake_stack = nullptr;
};
void raw_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
void make_context(Context& c, char* stack, std::size_t size, void (*entry)()) {
    DCODR_SIM_FRESH_STACK(stack, size);
    c.stack_bottom = stack;
    c.stack_size = size;
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}
#endif

#if DCODR_SIM_ASAN
// The context that made the last switch on this host thread: whoever arrives records the
// stack it came from there (the only way to learn the scheduler's own, the host thread's stack).
thread_local Context* g_switch_from = nullptr;
void arrived(Context& me) {
    __sanitizer_finish_switch_fiber(me.fake_stack, &g_switch_from->stack_bottom, &g_switch_from->stack_size);
}
void switch_context(Context& from, Context& to) {
    g_switch_from = &from;
    __sanitizer_start_switch_fiber(&from.fake_stack, to.stack_bottom, to.stack_size);
    raw_switch(from, to);
    arrived(from);
}
void fiber_started(Context& me) { arrived(me); }
#else
void switch_context(Context& from, Context& to) { raw_switch(from, to); }
void fiber_started(Context&) {}
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
    fiber_started(r.fibers[r.current].ctx);
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

namespace {

// One launch's blocks, shared by the threads that run them: each takes the next block number
// from `next` until none is left. CUDA promises nothing about the order or concurrency of
// blocks, so several host threads may run them at once.
struct Grid {
    dim3 grid, block;
    const char* kernel;
    void (*body)(void*);
    void* ctx;
    std::uint64_t blocks;
    std::atomic<std::uint64_t> next{0};
    std::mutex error_mutex;
    std::string error;  // the first rule broken, by any thread
};

void run_blocks(Grid& g) {
    BlockRun r;
    r.kernel = g.kernel;
    r.body = g.body;
    r.ctx = g.ctx;
    r.block = g.block;
    r.n = g.block.x * g.block.y * g.block.z;
    r.fibers.resize(r.n);
    for (unsigned t = 0; t < r.n; ++t)
        r.fibers[t].index = {t % g.block.x, (t / g.block.x) % g.block.y, t / (g.block.x * g.block.y)};
    r.warps.resize((r.n + 31) / 32);
    r.order.resize(r.n);
    for (unsigned i = 0; i < r.n; ++i) r.order[i] = reverse_schedule() ? r.n - 1 - i : i;
    if (!g_stacks) g_stacks = std::make_unique<StackArena>();
    struct Active {
        explicit Active(BlockRun* p) { g_run = p; }
        ~Active() { g_run = nullptr; }
    } active(&r);
    blockDim = g.block;
    gridDim = g.grid;
    for (;;) {
        std::uint64_t i = g.next.fetch_add(1);
        if (i >= g.blocks) return;
        std::uint64_t b = reverse_schedule() ? g.blocks - 1 - i : i;
        blockIdx = {static_cast<unsigned>(b % g.grid.x), static_cast<unsigned>(b / g.grid.x % g.grid.y),
                    static_cast<unsigned>(b / (std::uint64_t(g.grid.x) * g.grid.y))};
        try {
            run_block(r);
        } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(g.error_mutex);
            if (g.error.empty()) g.error = e.what();
            g.next = g.blocks;  // the others stop after their current block
            return;
        }
    }
}

// Host threads besides the launching one that run blocks: DCODR_CUDA_SIM_THREADS in all
// (default: the machine's cores, at most 16; 1 = every block on the launching thread).
class BlockWorkers {
public:
    static BlockWorkers& get() {
        static BlockWorkers w;
        return w;
    }
    // Runs g's blocks on the workers and the calling thread; false if the workers are busy with
    // another launch (from another host thread) or there are none.
    bool run(Grid& g) {
        std::unique_lock<std::mutex> in_use(use_, std::try_to_lock);
        if (!in_use || threads_.empty()) return false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &g;
            ++generation_;
            pending_ = threads_.size();
        }
        start_.notify_all();
        run_blocks(g);
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
        job_ = nullptr;
        return true;
    }
    ~BlockWorkers() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        start_.notify_all();
        for (auto& t : threads_) t.join();
    }

private:
    BlockWorkers() {
        unsigned n = std::min(16u, std::max(1u, std::thread::hardware_concurrency()));
        if (const char* v = std::getenv("DCODR_CUDA_SIM_THREADS"); v && *v) n = std::max(1, std::atoi(v));
        for (unsigned i = 1; i < n; ++i) threads_.emplace_back([this] { loop(); });
    }
    void loop() {
        std::uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            start_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            Grid* g = job_;
            lock.unlock();
            run_blocks(*g);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }
    std::mutex use_;  // one launch at a time on the workers
    std::mutex mutex_;
    std::condition_variable start_, done_;
    Grid* job_ = nullptr;
    std::uint64_t generation_ = 0;
    std::size_t pending_ = 0;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace

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
    if (host_only()) return true;
    Grid g;
    g.grid = grid;
    g.block = block;
    g.kernel = kernel;
    g.body = body;
    g.ctx = ctx;
    g.blocks = std::uint64_t(grid.x) * grid.y * grid.z;
    if (g.blocks < 2 || !BlockWorkers::get().run(g)) run_blocks(g);
    if (!g.error.empty()) cuda_fail(g.error);
    return true;
}

}  // namespace dcodr::cuda::sim
