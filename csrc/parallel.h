// A small persistent thread pool for intra-op parallelism.
//
// run(n, fn) calls fn(tid, n) for tid in [0, n) — tid 0 on the caller — and returns
// when all are done, rethrowing the first worker exception on the caller. Workers spin
// briefly after a job (back-to-back streaming calls find them awake), then sleep on a
// condition variable, so an idle service burns no CPU. One job runs at a time: a caller
// that finds the pool busy (another thread's call) runs its job alone instead of
// queueing, so concurrent calls never wait on each other or oversubscribe the cores.
// The pool is recreated lazily in a forked child (its threads do not survive fork).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace lstm_fast {

void set_num_threads(int n);  // n >= 1; throws std::invalid_argument otherwise
// Default: the physical cores this process may run on (its CPU affinity; SMT siblings
// count once), at most its cgroup CPU quota rounded up (parallel.cpp).
int get_num_threads();

// CPUs allowed by a cgroup v2 cpu.max text ("<quota> <period>"), 0 for "max" (no limit)
// or anything unreadable. Exposed for its test.
double cpu_quota_from_cgroup(const std::string& cpu_max);

// Runs fn(tid, nthreads) on min(n, get_num_threads()) threads, or on 1 if the pool is busy
// or the machine looks oversubscribed (see below). Returns the number of threads that ran.
int parallel_run(int n, const std::function<void(int, int)>& fn);
// The same, not counted in ThreadStats: for lstm_fast.bench's fixed-work control, whose jobs
// are not the model's.
int parallel_run_uncounted(int n, const std::function<void(int, int)>& fn);

// Oversubscription guard. A step split across threads waits at a barrier every time step;
// if a partner thread is descheduled (other processes own the cores), each step waits a
// scheduler timeslice: measured 10x slower than one thread on a loaded machine. So when a
// barrier wait outlasts both kContendedWait and twice the waiting thread's own share of
// the step, parallel_run uses one thread for a while (2 ms, doubling up to 100 ms while
// such waits keep coming; parallel.cpp), then tries again.
bool threads_contended();

// How parallel_run's jobs (one per layer, direction or batch split of a call) actually ran,
// counted since the process started or the last reset: a service's way to see whether
// its multi-threaded calls really got their threads. Jobs that asked for one thread are
// not counted. Relaxed counters, bumped once per job that asked for more than one.
struct ThreadStats {
    uint64_t parallel_jobs = 0;      // ran on more than one thread
    uint64_t alone_pool_busy = 0;    // ran on one: another call held the pool (concurrent callers)
    uint64_t alone_contended = 0;    // ran on one: the oversubscription backoff was on
    uint64_t contention_events = 0;  // barrier or flag waits that started (or extended) a backoff
    double round_trip_ns = 0;        // the last cross_core_round_trip_ns() measurement (0: none yet)
};
ThreadStats thread_stats(bool reset);

// A cache line's round trip between the calling thread and a pool worker, in ns: what
// one barrier of a split step costs at least (and the h exchange after it about as much).
// Measured by a short ping-pong (16 round trips, a few µs) on the first call and again
// when the last measurement is over kRoundTripRefresh (parallel.cpp) old, since a VM's
// two vCPUs can move closer or apart within seconds; between refreshes it returns the
// last value. Infinity until a measurement succeeded (n/a with one thread, or when the
// pool was busy or the machine contended: then the last value stays).
double cross_core_round_trip_ns();

// Starts a backoff as a contended barrier wait would. For tests of the guard.
void note_contention_for_test();

// Barrier for the threads of one parallel_run job: spins (the wait is usually well
// under a microsecond), then yields so an oversubscribed machine still progresses.
// Each thread announces its arrival in its own cache line and waits for the others'
// lines, so crossing it costs one cache-line transfer each way, in parallel; a shared
// counter (one line that every thread writes in turn, then a flag) measured 135-430 ns
// per barrier against 60 ns for this with 2 threads on Zen 5 (a barrier per time step).
class SpinBarrier {
  public:
    static constexpr int kMaxThreads = 64;
    explicit SpinBarrier(int n);  // 1 <= n <= kMaxThreads (std::invalid_argument otherwise)
    void wait(int tid);           // tid in [0, n), each thread its own

  private:
    struct alignas(64) Slot {
        std::atomic<uint64_t> arrivals;  // barriers this thread has reached (the first n_ zeroed)
    };
    const int n_;
    Slot slots_[kMaxThreads];
};

// Waits until `flag` is nonzero (acquire): spins, then yields; a long wait flags contention
// like SpinBarrier's. For a flag another thread of the same job is about to set (lstm.cpp's
// pipelined input projection).
void wait_for_flag(const std::atomic<uint8_t>& flag);

}  // namespace lstm_fast
