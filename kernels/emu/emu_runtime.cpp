//go:build cudaemu

// emu_runtime.cpp runs CUDA kernels on the CPU. Each thread block runs on one
// OS thread (a fixed pool works through the grid); the block's CUDA threads
// are cooperative fibers on that OS thread, each with its own mmap'd stack
// above a PROT_NONE guard page. A fiber runs until it reaches a barrier
// (__syncthreads, a warp shuffle) or returns; then the block's scheduler
// resumes the next fiber that may go on. Execution is therefore
// deterministic: thread 0 always runs ahead to its first barrier, so a
// missing __syncthreads reads stale shared memory every time instead of
// sometimes. When no fiber can go on, the block is deadlocked and the launch
// fails with the barrier's file and line.
//
// Fibers switch with a few instructions of assembly (swapcontext would make a
// signal-mask system call on every switch).
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_emu.h"
#include "emu_api.h"
#include "emu_kernel_table.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SUTURE_EMU_ASAN 1
#endif

namespace suture_emu {

extern const KernelInfo kernels_main[];
extern const int kernels_main_count;
extern const KernelInfo kernels_faults[];
extern const int kernels_faults_count;
extern const KernelInfo kernels_fault_leaky[];
extern const int kernels_fault_leaky_count;
extern const KernelInfo kernels_selftest[];
extern const int kernels_selftest_count;

thread_local dim3 thread_idx, block_idx, block_dim, grid_dim;

}  // namespace suture_emu

// suture_emu_switch(save, to) saves the callee-saved registers and the stack
// pointer of the running context in *save and resumes the context whose
// stack pointer is `to` (System V x86-64 and AAPCS64: only callee-saved
// state has to survive a call).
extern "C" void suture_emu_switch(void** save, void* to);
#if defined(__x86_64__)
asm(R"(
.text
.globl suture_emu_switch
.type suture_emu_switch,@function
suture_emu_switch:
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
.size suture_emu_switch,.-suture_emu_switch
.section .note.GNU-stack,"",@progbits
.text
)");
#elif defined(__aarch64__)
asm(R"(
.text
.globl suture_emu_switch
.type suture_emu_switch,%function
suture_emu_switch:
  sub sp, sp, #176
  stp x19, x20, [sp, #0]
  stp x21, x22, [sp, #16]
  stp x23, x24, [sp, #32]
  stp x25, x26, [sp, #48]
  stp x27, x28, [sp, #64]
  stp x29, x30, [sp, #80]
  stp d8, d9, [sp, #96]
  stp d10, d11, [sp, #112]
  stp d12, d13, [sp, #128]
  stp d14, d15, [sp, #144]
  mov x9, sp
  str x9, [x0]
  mov sp, x1
  ldp x19, x20, [sp, #0]
  ldp x21, x22, [sp, #16]
  ldp x23, x24, [sp, #32]
  ldp x25, x26, [sp, #48]
  ldp x27, x28, [sp, #64]
  ldp x29, x30, [sp, #80]
  ldp d8, d9, [sp, #96]
  ldp d10, d11, [sp, #112]
  ldp d12, d13, [sp, #128]
  ldp d14, d15, [sp, #144]
  add sp, sp, #176
  ret
.size suture_emu_switch,.-suture_emu_switch
.section .note.GNU-stack,"",%progbits
.text
)");
#else
#error "the CUDA emulator's context switch supports x86-64 and arm64"
#endif

namespace suture_emu {
namespace {

#ifdef SUTURE_EMU_ASAN
constexpr size_t kStackSize = 512 * 1024;  // ASan's redzones make frames larger
#else
constexpr size_t kStackSize = 64 * 1024;
#endif

enum FiberState { kReady, kWaitBlock, kWaitWarp, kDone };

struct Fiber {
  void* sp = nullptr;
  char* stack_lo = nullptr;  // lowest usable byte, just above the guard page
  dim3 tid{0, 0, 0};
  int linear = 0;
  FiberState state = kReady;
  uint64_t wait_gen = 0;
  const char* wait_file = nullptr;
  int wait_line = 0;
  void* fake_stack = nullptr;  // AddressSanitizer's bookkeeping
};

struct Barrier {
  int arrived = 0, expected = 0;
  uint64_t gen = 0;
  const char* file = nullptr;  // where the first thread of this round waits
  int line = 0;
};

const char* base_name(const char* path) {
  const char* s = strrchr(path, '/');
  return s ? s + 1 : path;
}

// Worker is one OS thread of the pool and the block it is running.
struct Worker {
  std::vector<Fiber> fibers;
  char* region = nullptr;  // all fiber stacks with their guard pages
  size_t region_size = 0;
  void* sched_sp = nullptr;
  Fiber* current = nullptr;
  const void* sched_stack_bottom = nullptr;
  size_t sched_stack_size = 0;
  void* sched_fake_stack = nullptr;

  Barrier block_barrier;
  std::vector<Barrier> warp_barriers;
  std::vector<uint64_t> warp_slots;

  Thunk thunk = nullptr;
  const uint64_t* args = nullptr;
  std::string error;  // set when the block fails
  bool dirty_stacks = false;  // fibers were abandoned mid-run (ASan shadow is stale)
};

thread_local Worker* tl_worker = nullptr;

void fiber_entry();

// switch_to_fiber runs f until it yields back (scheduler side).
void switch_to_fiber(Worker* w, Fiber* f) {
  w->current = f;
  thread_idx = f->tid;
#ifdef SUTURE_EMU_ASAN
  __sanitizer_start_switch_fiber(&w->sched_fake_stack, f->stack_lo, kStackSize);
#endif
  suture_emu_switch(&w->sched_sp, f->sp);
#ifdef SUTURE_EMU_ASAN
  __sanitizer_finish_switch_fiber(w->sched_fake_stack, nullptr, nullptr);
#endif
}

// yield_to_scheduler suspends the running fiber (fiber side).
void yield_to_scheduler(Worker* w) {
  Fiber* f = w->current;
#ifdef SUTURE_EMU_ASAN
  __sanitizer_start_switch_fiber(&f->fake_stack, w->sched_stack_bottom, w->sched_stack_size);
#endif
  suture_emu_switch(&f->sp, w->sched_sp);
#ifdef SUTURE_EMU_ASAN
  __sanitizer_finish_switch_fiber(f->fake_stack, &w->sched_stack_bottom, &w->sched_stack_size);
#endif
}

void fiber_entry() {
  Worker* w = tl_worker;
#ifdef SUTURE_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w->sched_stack_bottom, &w->sched_stack_size);
#endif
  w->thunk(w->args);
  w->current->state = kDone;
#ifdef SUTURE_EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, w->sched_stack_bottom, w->sched_stack_size);
#endif
  void* unused;
  suture_emu_switch(&unused, w->sched_sp);
  abort();  // a finished fiber is never resumed
}

// reserve_stacks makes room for n fibers.
bool reserve_stacks(Worker* w, int n, std::string* err) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t per = kStackSize + page;
  if ((int)w->fibers.size() >= n) return true;
  if (w->region) munmap(w->region, w->region_size);
  w->region_size = per * (size_t)n;
  void* r = mmap(nullptr, w->region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) {
    w->region = nullptr;
    w->fibers.clear();
    *err = "cannot map fiber stacks: " + std::string(strerror(errno));
    return false;
  }
  w->region = (char*)r;
  w->fibers.assign(n, Fiber());
  for (int i = 0; i < n; i++) {
    char* lo = w->region + per * (size_t)i;
    mprotect(lo, page, PROT_NONE);  // overflowing a fiber's stack faults here
    w->fibers[i].stack_lo = lo + page;
  }
  return true;
}

// init_fiber points f's stack at fiber_entry, as if suture_emu_switch had
// saved it there: six zero registers, then the return address.
void init_fiber(Fiber* f) {
#ifdef SUTURE_EMU_ASAN
  // fiber_entry never returns, so its frame's redzones stay poisoned after a
  // fiber ends; the next fiber on this stack starts in that frame.
  ASAN_UNPOISON_MEMORY_REGION(f->stack_lo + kStackSize - 8192, 8192);
#endif
  uintptr_t top = (uintptr_t)(f->stack_lo + kStackSize) & ~(uintptr_t)15;
  void** sp = (void**)top;
#if defined(__x86_64__)
  *--sp = nullptr;  // fiber_entry's return address: ends backtraces, aligns the frame
  *--sp = (void*)&fiber_entry;
  for (int i = 0; i < 6; i++) *--sp = nullptr;
#else
  sp -= 22;  // the 176-byte frame suture_emu_switch pops
  memset(sp, 0, 176);
  sp[11] = (void*)&fiber_entry;  // x30, the link register
#endif
  f->sp = sp;
  f->state = kReady;
  f->fake_stack = nullptr;
}

std::string describe_deadlock(Worker* w, int n) {
  int exited = 0, at_block = 0;
  std::string where;
  for (int i = 0; i < n; i++) {
    const Fiber& f = w->fibers[i];
    if (f.state == kDone) {
      exited++;
    } else if (f.state == kWaitBlock) {
      at_block++;
      if (where.empty()) where = std::string(base_name(f.wait_file)) + ":" + std::to_string(f.wait_line);
    } else if (f.state == kWaitWarp && where.empty()) {
      where = "warp barrier at " + std::string(base_name(f.wait_file)) + ":" + std::to_string(f.wait_line) +
              " (thread " + std::to_string(f.linear) + ")";
    }
  }
  if (at_block > 0) {
    return "deadlock: __syncthreads at " + where + " reached by " + std::to_string(at_block) + " of " +
           std::to_string(n) + " threads; " + std::to_string(exited) + " had exited";
  }
  return "deadlock: " + where + " waits for lanes that exited or wait elsewhere; " + std::to_string(exited) +
         " of " + std::to_string(n) + " threads had exited";
}

// run_block runs every thread of one block to completion.
bool run_block(Worker* w, int n) {
  if (w->dirty_stacks) {
#ifdef SUTURE_EMU_ASAN
    for (int i = 0; i < n; i++) ASAN_UNPOISON_MEMORY_REGION(w->fibers[i].stack_lo, kStackSize);
#endif
    w->dirty_stacks = false;
  }
  for (int i = 0; i < n; i++) init_fiber(&w->fibers[i]);
  w->block_barrier = Barrier();
  w->block_barrier.expected = n;
  const int warps = (n + 31) / 32;
  w->warp_barriers.assign(warps, Barrier());
  for (int i = 0; i < warps; i++) w->warp_barriers[i].expected = std::min(32, n - 32 * i);
  w->warp_slots.assign((size_t)warps * 32, 0);
  int live = n;
  while (live > 0) {
    bool progressed = false;
    for (int i = 0; i < n; i++) {
      Fiber* f = &w->fibers[i];
      if (f->state == kDone) continue;
      if (f->state == kWaitBlock && f->wait_gen == w->block_barrier.gen) continue;
      if (f->state == kWaitWarp && f->wait_gen == w->warp_barriers[f->linear >> 5].gen) continue;
      f->state = kReady;
      switch_to_fiber(w, f);
      progressed = true;
      if (f->state == kDone) live--;
      if (!w->error.empty()) {
        w->dirty_stacks = true;
        return false;
      }
    }
    if (!progressed) {
      w->error = describe_deadlock(w, n);
      w->dirty_stacks = true;
      return false;
    }
  }
  return true;
}

// wait_at makes the running fiber wait at barrier b until all expected
// threads arrive; the last one to arrive releases the others and goes on.
void wait_at(Worker* w, Barrier* b, FiberState state, const char* file, int line) {
  Fiber* f = w->current;
  if (b->arrived == 0) {
    b->file = file;
    b->line = line;
  } else if (b->line != line || strcmp(b->file, file) != 0) {
    w->error = std::string("divergent barrier: thread ") + std::to_string(f->linear) + " waits at " +
               base_name(file) + ":" + std::to_string(line) + " while others wait at " + base_name(b->file) + ":" +
               std::to_string(b->line);
    yield_to_scheduler(w);  // never resumed: the block has failed
  }
  if (++b->arrived == b->expected) {
    b->arrived = 0;
    b->gen++;
    return;
  }
  f->state = state;
  f->wait_gen = b->gen;
  f->wait_file = file;
  f->wait_line = line;
  yield_to_scheduler(w);
}

struct Job {
  const KernelInfo* kernel;
  const uint64_t* args;
  dim3 grid, block;
  long total;
  std::atomic<long> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string error;
};

// Pool is the set of OS threads that run blocks; it lives for the process.
class Pool {
 public:
  explicit Pool(int n) : busy_(0) {
    for (int i = 0; i < n; i++) threads_.emplace_back([this] { loop(); });
    for (auto& t : threads_) t.detach();
  }
  int size() const { return (int)threads_.size(); }

  std::string run(Job* job) {
    std::unique_lock<std::mutex> lk(mu_);
    job_ = job;
    busy_ = (int)threads_.size();
    seq_++;
    wake_.notify_all();
    done_.wait(lk, [this] { return busy_ == 0; });
    job_ = nullptr;
    return job->error;
  }

 private:
  void loop() {
    // Go's signal handler may run on this thread (a fault in a kernel): give
    // it a stack of its own rather than a fiber's.
    stack_t ss;
    ss.ss_size = 64 * 1024;
    ss.ss_sp = malloc(ss.ss_size);
    ss.ss_flags = 0;
    sigaltstack(&ss, nullptr);

    Worker w;
    tl_worker = &w;
    uint64_t seen = 0;
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lk(mu_);
        wake_.wait(lk, [&] { return seq_ != seen; });
        seen = seq_;
        job = job_;
      }
      work(&w, job);
      std::lock_guard<std::mutex> lk(mu_);
      if (--busy_ == 0) done_.notify_all();
    }
  }

  static void work(Worker* w, Job* job) {
    const dim3 g = job->grid, b = job->block;
    const int n = (int)(b.x * b.y * b.z);
    std::string err;
    if (!reserve_stacks(w, n, &err)) {
      fail(job, -1, err);
      return;
    }
    for (int i = 0; i < n; i++) {
      Fiber& f = w->fibers[i];
      f.linear = i;
      f.tid = dim3{(unsigned)i % b.x, ((unsigned)i / b.x) % b.y, (unsigned)i / (b.x * b.y)};
    }
    w->thunk = job->kernel->thunk;
    w->args = job->args;
    block_dim = b;
    grid_dim = g;
    for (;;) {
      if (job->failed.load(std::memory_order_relaxed)) return;
      const long i = job->next.fetch_add(1, std::memory_order_relaxed);
      if (i >= job->total) return;
      block_idx = dim3{(unsigned)(i % g.x), (unsigned)((i / g.x) % g.y), (unsigned)(i / ((long)g.x * g.y))};
      w->error.clear();
      if (!run_block(w, n)) {
        const dim3 bi = block_idx;
        fail(job, i,
             "block (" + std::to_string(bi.x) + "," + std::to_string(bi.y) + "," + std::to_string(bi.z) + "): " +
                 w->error);
        return;
      }
    }
  }

  static void fail(Job* job, long, const std::string& msg) {
    std::lock_guard<std::mutex> lk(job->mu);
    if (job->error.empty()) job->error = msg;
    job->failed.store(true);
  }

  std::mutex mu_;
  std::condition_variable wake_, done_;
  Job* job_ = nullptr;
  uint64_t seq_ = 0;
  int busy_;
  std::vector<std::thread> threads_;
};

std::mutex g_init_mu;
Pool* g_pool = nullptr;  // never deleted: its threads run until the process exits
std::mutex g_launch_mu;  // one launch at a time, like one CUDA stream
std::vector<const KernelInfo*>* g_table = nullptr;

void build_table() {
  g_table = new std::vector<const KernelInfo*>();
  for (int i = 0; i < kernels_main_count; i++) g_table->push_back(&kernels_main[i]);
  for (int i = 0; i < kernels_selftest_count; i++) g_table->push_back(&kernels_selftest[i]);
  for (int i = 0; i < kernels_faults_count; i++) g_table->push_back(&kernels_faults[i]);
  for (int i = 0; i < kernels_fault_leaky_count; i++) g_table->push_back(&kernels_fault_leaky[i]);
}

}  // namespace

void syncthreads(const char* file, int line) {
  Worker* w = tl_worker;
  wait_at(w, &w->block_barrier, kWaitBlock, file, line);
}

int lane() { return tl_worker->current->linear & 31; }

uint64_t warp_exchange(unsigned mask, uint64_t v, int src, const char* file, int line) {
  Worker* w = tl_worker;
  const int me = w->current->linear, warp = me >> 5, l = me & 31;
  Barrier* b = &w->warp_barriers[warp];
  const unsigned present = b->expected == 32 ? 0xffffffffu : (1u << b->expected) - 1;
  if ((mask & present) != present) {
    w->error = std::string("warp shuffle at ") + base_name(file) + ":" + std::to_string(line) + " with mask " +
               std::to_string(mask) + ": the emulator runs only whole-warp shuffles";
    yield_to_scheduler(w);
  }
  uint64_t* slots = &w->warp_slots[(size_t)warp * 32];
  slots[l] = v;
  wait_at(w, b, kWaitWarp, file, line);
  // A lane the warp does not have (a partial last warp) reads as all ones (NaN).
  const uint64_t got = src >= 0 && src < b->expected ? slots[src] : ~(uint64_t)0;
  wait_at(w, b, kWaitWarp, file, line);
  return got;
}

}  // namespace suture_emu

using namespace suture_emu;

extern "C" {

void suture_emu_init(int threads) {
  std::lock_guard<std::mutex> lk(g_init_mu);
  if (g_pool) return;
  if (threads < 1) threads = 1;
  build_table();
  g_pool = new Pool(threads);
}

int suture_emu_lookup(const char* name, int variant) {
  int fallback = -1;
  for (size_t i = 0; i < g_table->size(); i++) {
    const KernelInfo* k = (*g_table)[i];
    if (strcmp(k->name, name) != 0) continue;
    if (k->variant == variant) return (int)i;
    if (k->variant == 0) fallback = (int)i;
  }
  return fallback;
}

int suture_emu_kernel_count(void) { return kernels_main_count; }

const char* suture_emu_kernel_name(int i) { return kernels_main[i].name; }

int suture_emu_launch(int kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      unsigned shared_bytes, const uint64_t* args, int nargs, const char* kinds, char* err,
                      int errlen) {
  std::string msg;
  const KernelInfo* k = kernel >= 0 && kernel < (int)g_table->size() ? (*g_table)[kernel] : nullptr;
  if (!k) {
    msg = "no such kernel";
  } else if (bx == 0 || by == 0 || bz == 0 || gx == 0 || gy == 0 || gz == 0) {
    msg = "empty grid or block";
  } else if (bx > 1024 || by > 1024 || bz > 64 || (unsigned long)bx * by * bz > 1024) {
    msg = "block of more than 1024 threads or beyond (1024, 1024, 64)";
  } else if (gx > 0x7fffffffu || gy > 65535 || gz > 65535) {
    msg = "grid beyond (2^31-1, 65535, 65535)";
  } else if (shared_bytes != 0) {
    msg = "dynamic shared memory is not emulated";
  } else if ((int)strlen(k->kinds) != nargs) {
    msg = "takes " + std::to_string(strlen(k->kinds)) + " parameters, the launch passed " + std::to_string(nargs);
  } else {
    for (int i = 0; i < nargs; i++) {
      if (k->kinds[i] != kinds[i]) {
        msg = "parameter " + std::to_string(i) + " has kind '" + std::string(1, k->kinds[i]) +
              "', the launch passed '" + std::string(1, kinds[i]) + "'";
        break;
      }
    }
  }
  if (msg.empty()) {
    std::lock_guard<std::mutex> lk(g_launch_mu);
    Job job;
    job.kernel = k;
    job.args = args;
    job.grid = dim3{gx, gy, gz};
    job.block = dim3{bx, by, bz};
    job.total = (long)gx * gy * gz;
    msg = g_pool->run(&job);
  }
  if (msg.empty()) return 0;
  snprintf(err, (size_t)errlen, "%s", msg.c_str());
  return 1;
}

uint64_t suture_emu_alloc(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) return 0;
  memset(p, 0xff, bytes);
  return (uint64_t)(uintptr_t)p;
}

void suture_emu_free(uint64_t p) { free((void*)(uintptr_t)p); }

void suture_emu_copy_htod(uint64_t dst, const void* src, size_t bytes) { memcpy((void*)(uintptr_t)dst, src, bytes); }

void suture_emu_copy_dtoh(void* dst, uint64_t src, size_t bytes) { memcpy(dst, (const void*)(uintptr_t)src, bytes); }

void suture_emu_copy_dtod(uint64_t dst, uint64_t src, size_t bytes) {
  memmove((void*)(uintptr_t)dst, (const void*)(uintptr_t)src, bytes);
}

void suture_emu_memset(uint64_t dst, int value, size_t bytes) { memset((void*)(uintptr_t)dst, value, bytes); }

}  // extern "C"
