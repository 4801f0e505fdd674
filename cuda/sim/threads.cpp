// CUDA simulator: the block scheduler. Each CUDA thread of a block is a fiber (its own stack,
// switched cooperatively on the launching host thread); see dcodr_sim/kernel_sim.h for the
// rules it enforces. Fibers switch with a few instructions on x86-64 (cheap enough that a
// reduction with thousands of shuffles per block stays fast) and with ucontext elsewhere.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cuda/check.h"

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

constexpr std::size_t kStackBytes = 256 * 1024;

// mmap'd, with a PROT_NONE guard page below, so an overflow faults instead of corrupting a
// neighbour. Pages are committed only when touched. Kept for the life of the thread.
struct Stack {
    char* base = nullptr;  // guard page
    std::size_t total = 0;
    Stack() {
        std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        total = kStackBytes + page;
        void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) cuda_fail("CUDA simulator: cannot map a fiber stack");
        base = static_cast<char*>(p);
        mprotect(base, page, PROT_NONE);
    }
    ~Stack() {
        if (base) munmap(base, total);
    }
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;
    char* usable() const { return base + (total - kStackBytes); }
};

// ---------------------------------------------------------------- scheduler state

enum class Wait : std::uint8_t { none, block, warp, done };

struct Fiber {
    Context ctx;
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

struct BlockRun {
    const char* kernel = "";
    void (*body)(void*) = nullptr;
    void* ctx = nullptr;
    unsigned n = 0;  // threads per block
    dim3 block;
    std::vector<Fiber> fibers;
    std::vector<WarpSlots> warps;
    Context scheduler;
    unsigned current = 0;
    std::string error;  // set by a fiber that broke a rule
};

thread_local BlockRun* g_run = nullptr;
thread_local std::vector<std::unique_ptr<Stack>> g_stacks;

BlockRun& run() {
    if (!g_run) cuda_fail("CUDA simulator: a device intrinsic was called outside a kernel");
    return *g_run;
}

std::string where(const BlockRun& r) {
    return std::string("kernel ") + r.kernel + ", block (" + std::to_string(blockIdx.x) + "," +
           std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) + ")";
}

void yield(Wait w, unsigned mask, const char* what) {
    BlockRun& r = run();
    Fiber& f = r.fibers[r.current];
    f.wait = w;
    f.mask = mask;
    f.what = what;
    switch_context(f.ctx, r.scheduler);
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
        f = Fiber{};
        make_context(f.ctx, g_stacks[t]->usable(), kStackBytes, &fiber_entry);
    }
    for (;;) {
        bool all_done = true;
        for (unsigned t = 0; t < r.n; ++t) {
            Fiber& f = r.fibers[t];
            if (f.wait == Wait::none) {
                r.current = t;
                threadIdx = {t % r.block.x, (t / r.block.x) % r.block.y, t / (r.block.x * r.block.y)};
                switch_context(r.scheduler, f.ctx);
                if (!r.error.empty()) cuda_fail("CUDA simulator: " + where(r) + ": " + r.error);
            }
            all_done = all_done && f.wait == Wait::done;
        }
        if (all_done) return;
        if (!release_warps(r) && !release_block(r)) deadlock(r);
    }
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
    BlockRun r;
    r.kernel = kernel;
    r.body = body;
    r.ctx = ctx;
    r.n = static_cast<unsigned>(threads);
    r.block = block;
    r.fibers.resize(r.n);
    r.warps.resize((r.n + 31) / 32);
    while (g_stacks.size() < r.n) g_stacks.push_back(std::make_unique<Stack>());
    struct Active {
        explicit Active(BlockRun* p) { g_run = p; }
        ~Active() { g_run = nullptr; }
    } active(&r);
    blockDim = block;
    gridDim = grid;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = {x, y, z};
                run_block(r);
            }
    return true;
}

}  // namespace dcodr::cuda::sim
