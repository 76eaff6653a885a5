#include "parallel.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LSTM_FAST_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define LSTM_FAST_PAUSE() __asm__ __volatile__("yield")
#else
#define LSTM_FAST_PAUSE() ((void)0)
#endif

#if !defined(_WIN32)
#include <pthread.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace lstm_fast {
namespace {

using Clock = std::chrono::steady_clock;

// After a contended wait, calls run on one thread for a while: kMinBackoff at first,
// doubling (up to kMaxBackoff) while contended waits keep coming within a few backoffs of
// each other, and back to kMinBackoff once they stop. A lone event (an interrupt, the
// hypervisor taking the vCPU for a moment) so costs ~2 ms of one-thread calls, while a
// really oversubscribed machine soon backs off for 100 ms at a time. Measured on this VM
// (2 vCPUs, idle, 2 threads, medium (1,128,128,256)): ~3 such events a second; with a
// fixed 100 ms backoff 10 % of calls ran at one-thread speed (p99 2.7x the median).
constexpr auto kContendedWait = std::chrono::microseconds(200);
constexpr int64_t kMinBackoff = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(2)).count();
constexpr int64_t kMaxBackoff = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(100)).count();
std::atomic<int64_t> g_backoff_until{0};          // steady_clock ticks
std::atomic<int64_t> g_last_contention{0};        // steady_clock ticks
std::atomic<int64_t> g_backoff{kMinBackoff};      // the current backoff, ticks

// ThreadStats' counters; each on its own line, away from the backoff state above.
struct alignas(64) Counter {
    std::atomic<uint64_t> n{0};
    void bump() { n.fetch_add(1, std::memory_order_relaxed); }
    uint64_t take(bool reset) { return reset ? n.exchange(0, std::memory_order_relaxed) : n.load(std::memory_order_relaxed); }
};
Counter g_parallel_jobs, g_alone_pool_busy, g_alone_contended, g_contention_events;
// cross_core_round_trip_ns's last measurement and next refresh.
std::atomic<int64_t> g_round_trip_ps{-1};   // picoseconds; -1: never measured
std::atomic<int64_t> g_round_trip_next{0};  // steady_clock ticks: when to measure again

// The last measurement in ns, or -1 if there is none.
double last_round_trip_ns() {
    const int64_t ps = g_round_trip_ps.load(std::memory_order_relaxed);
    return ps < 0 ? -1.0 : double(ps) / 1000.0;
}

void note_contention() {
    g_contention_events.bump();
    // Relaxed and racy on purpose: concurrent notes may lose a doubling, never correctness.
    const int64_t now = Clock::now().time_since_epoch().count();
    const int64_t last = g_last_contention.exchange(now, std::memory_order_relaxed);
    int64_t backoff = g_backoff.load(std::memory_order_relaxed);
    backoff = now - last <= 4 * backoff ? std::min(2 * backoff, kMaxBackoff) : kMinBackoff;
    g_backoff.store(backoff, std::memory_order_relaxed);
    g_backoff_until.store(now + backoff, std::memory_order_relaxed);
}

// Spin (a partner is usually microseconds away), then yield. Returns how long the wait
// lasted once it left the spin phase (zero if it never did).
template <class Done>
Clock::duration wait_until(Done done) {
    for (int spins = 0; spins < 4096; ++spins) {
        if (done()) return Clock::duration::zero();
        LSTM_FAST_PAUSE();
    }
    const auto start = Clock::now();
    while (!done()) std::this_thread::yield();
    return Clock::now() - start;
}

// When this thread last left a barrier: the time since then is its own share of a step.
thread_local Clock::time_point t_barrier_exit{};

}  // namespace

double cpu_quota_from_cgroup(const std::string& cpu_max) {
    // cgroup v2 cpu.max: "<quota> <period>" in µs, or "max <period>" (no limit).
    std::istringstream in(cpu_max);
    std::string quota;
    double period = 0;
    if (!(in >> quota >> period) || quota == "max" || period <= 0) return 0.0;
    char* end = nullptr;
    const double q = std::strtod(quota.c_str(), &end);
    if (end == quota.c_str() || *end != '\0' || !(q > 0)) return 0.0;
    return q / period;
}

namespace {

#if defined(__linux__)
// A small file's text ("" if it cannot be read): sysfs, procfs and cgroup entries.
std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    if (f) ss << f.rdbuf();
    return ss.str();
}

// The CPU quota of this process's cgroup (docker --cpus, Kubernetes CPU limits), in CPUs,
// or 0 for none: cgroup v2's cpu.max, else cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us,
// for the cgroup named in /proc/self/cgroup (or the hierarchy's root, as seen in a container).
double cgroup_cpu_quota() {
    std::istringstream lines(read_file("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
        const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (controllers.empty()) {  // v2
            for (const std::string& dir : {"/sys/fs/cgroup" + path, std::string("/sys/fs/cgroup")}) {
                const double q = cpu_quota_from_cgroup(read_file(dir + "/cpu.max"));
                if (q > 0) return q;
            }
            continue;
        }
        if (("," + controllers + ",").find(",cpu,") == std::string::npos) continue;  // v1, not cpu
        for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"})
            for (const std::string& dir : {std::string(mount) + path, std::string(mount)}) {
                const std::string quota = read_file(dir + "/cpu.cfs_quota_us");
                if (quota.empty()) continue;
                const double q = std::strtod(quota.c_str(), nullptr);
                const double p = std::strtod(read_file(dir + "/cpu.cfs_period_us").c_str(), nullptr);
                return q > 0 && p > 0 ? q / p : 0.0;  // -1: no limit
            }
    }
    return 0.0;
}
#endif

// Kernel threads by default: the physical cores this process may run on. Counting logical
// CPUs would split a step between two hardware threads of one core, which share its L1,
// L2 and FMA units (no gain for a bandwidth-bound step, a barrier per step for nothing),
// and would ignore a cpuset (taskset, docker --cpuset-cpus, Kubernetes' static CPU
// policy): measured with `taskset -c 0` on this 2-vCPU VM, 2 threads on one CPU gave
// medium (1,128,128,256) p99 16 ms against 1.1 ms on one thread. A cgroup CPU quota
// caps it too (rounded up). torch and ONNX Runtime also default to physical cores.
int default_threads() {
    unsigned n = std::thread::hardware_concurrency();
    int threads = n == 0 ? 1 : int(n);
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        std::set<std::pair<long, long>> cores;  // (package, core) of each allowed CPU
        int allowed = 0;
        bool topology = true;
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (!CPU_ISSET(cpu, &set)) continue;
            ++allowed;
            const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
            const std::string core = read_file(dir + "core_id"), package = read_file(dir + "physical_package_id");
            if (core.empty() || package.empty()) topology = false;
            cores.insert({std::strtol(package.c_str(), nullptr, 10), std::strtol(core.c_str(), nullptr, 10)});
        }
        if (allowed > 0) threads = topology ? int(cores.size()) : allowed;
    }
    const double quota = cgroup_cpu_quota();
    if (quota > 0) threads = std::min(threads, std::max(1, int(std::ceil(quota))));
#endif
    return std::max(1, threads);
}

// 0 until set_num_threads: then get_num_threads reports the default, worked out on first
// use (not at import: it reads two sysfs files per allowed CPU).
std::atomic<int> g_num_threads{0};

int cached_default_threads() {
    static const int n = default_threads();
    return n;
}

class Pool {
  public:
    explicit Pool(int workers) {
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i + 1); });
    }
    // Never destroyed: the process exit ends the sleeping workers (joining them during
    // interpreter shutdown could deadlock), and a forked child abandons the parent's pool.
    Pool(const Pool&) = delete;

    int workers() const { return int(threads_.size()); }

    // Caller holds run_mutex.
    void run(int n, const std::function<void(int, int)>& fn) {
        job_ = &fn;
        job_threads_ = n;
        errors_.assign(n, nullptr);
        pending_.store(n - 1, std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        cv_.notify_all();
        try {
            fn(0, n);
        } catch (...) {
            errors_[0] = std::current_exception();
        }
        // Not a contention signal: the threads' shares of a job may differ by milliseconds.
        wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
        for (auto& e : errors_)
            if (e) std::rethrow_exception(e);
    }

    std::mutex run_mutex;

  private:
    void loop(int tid) {
        uint64_t seen = 0;
        for (;;) {
            // Spin ~50 µs for the next job before sleeping.
            uint64_t gen = generation_.load(std::memory_order_acquire);
            for (int spins = 0; gen == seen && spins < 20000; ++spins) {
                LSTM_FAST_PAUSE();
                gen = generation_.load(std::memory_order_acquire);
            }
            if (gen == seen) {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                gen = generation_.load(std::memory_order_acquire);
            }
            seen = gen;
            if (tid < job_threads_) {
                try {
                    (*job_)(tid, job_threads_);
                } catch (...) {
                    errors_[tid] = std::current_exception();
                }
                pending_.fetch_sub(1, std::memory_order_release);
            }
        }
    }

    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<int> job_threads_{0};
    std::vector<std::exception_ptr> errors_;
};

std::mutex g_pool_mutex;  // guards g_pool (creation, growth, fork reset)
Pool* g_pool = nullptr;

#if !defined(_WIN32)
void reset_after_fork() { g_pool = nullptr; }  // the parent's workers do not exist here
struct ForkHandler {
    ForkHandler() { pthread_atfork(nullptr, nullptr, reset_after_fork); }
} g_fork_handler;
#endif

}  // namespace

void set_num_threads(int n) {
    if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
    if (n > 1024) throw std::invalid_argument("num_threads must be <= 1024, got " + std::to_string(n));
    g_num_threads.store(n);
}

int get_num_threads() {
    const int n = g_num_threads.load();
    return n > 0 ? n : cached_default_threads();
}

namespace {
// parallel_run, with or without counting the job in ThreadStats (the round-trip
// measurement below is not a job of the caller's).
int run_job(int n, const std::function<void(int, int)>& fn, bool count) {
    n = std::min(n, get_num_threads());
    if (n <= 1) {
        fn(0, 1);
        return 1;
    }
    if (threads_contended()) {
        if (count) g_alone_contended.bump();
        fn(0, 1);
        return 1;
    }
    Pool* pool;
    {
        std::lock_guard<std::mutex> lock(g_pool_mutex);
        if (g_pool == nullptr || g_pool->workers() < n - 1) {
            // Growing replaces the pool; an old one (if any) keeps sleeping, unused.
            g_pool = new Pool(n - 1);
        }
        pool = g_pool;
    }
    std::unique_lock<std::mutex> busy(pool->run_mutex, std::try_to_lock);
    if (!busy.owns_lock()) {
        if (count) g_alone_pool_busy.bump();
        fn(0, 1);
        return 1;
    }
    if (count) g_parallel_jobs.bump();
    pool->run(n, fn);
    return n;
}
}  // namespace

int parallel_run(int n, const std::function<void(int, int)>& fn) { return run_job(n, fn, true); }
int parallel_run_uncounted(int n, const std::function<void(int, int)>& fn) { return run_job(n, fn, false); }

SpinBarrier::SpinBarrier(int n) : n_(n) {
    if (n < 1 || n > kMaxThreads)
        throw std::invalid_argument("SpinBarrier takes 1 to " + std::to_string(kMaxThreads) + " threads, got " +
                                    std::to_string(n));
    for (int j = 0; j < n; ++j) slots_[j].arrivals.store(0, std::memory_order_relaxed);
}

void SpinBarrier::wait(int tid) {
    // Arrival k (k-th barrier of this thread) is passed once every slot shows >= k: a
    // partner already at k+1 has passed k too, so the slots never need resetting.
    const auto arrived = Clock::now();
    const auto own_work = arrived - t_barrier_exit;  // huge on a thread's first barrier: never flags
    const uint64_t k = slots_[tid].arrivals.load(std::memory_order_relaxed) + 1;
    slots_[tid].arrivals.store(k, std::memory_order_release);
    Clock::duration waited = Clock::duration::zero();
    for (int j = 0; j < n_; ++j)
        if (j != tid) waited += wait_until([&] { return slots_[j].arrivals.load(std::memory_order_acquire) >= k; });
    // Equal shares of a step finish together; waiting both over kContendedWait and
    // over twice this thread's own share means a partner was not running.
    if (waited > kContendedWait && waited > 2 * own_work) note_contention();
    // One clock read per barrier: a wait that ended while spinning counts as own work.
    t_barrier_exit = arrived + waited;
}

void wait_for_flag(const std::atomic<uint8_t>& flag) {
    const auto waited = wait_until([&] { return flag.load(std::memory_order_acquire) != 0; });
    if (waited > kContendedWait) note_contention();
}

ThreadStats thread_stats(bool reset) {
    ThreadStats s;
    s.parallel_jobs = g_parallel_jobs.take(reset);
    s.alone_pool_busy = g_alone_pool_busy.take(reset);
    s.alone_contended = g_alone_contended.take(reset);
    s.contention_events = g_contention_events.take(reset);
    s.round_trip_ns = std::max(0.0, last_round_trip_ns());
    return s;
}

void note_contention_for_test() { note_contention(); }

namespace {
// Refresh interval: the Zen 5 VM of docs/performance.md switched between ~110 and ~630 ns
// round trips within seconds; a refresh costs 16 round trips (2-10 µs) on one call.
constexpr int64_t kRoundTripRefresh = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)).count();

// Median round trip of a ping-pong between tid 0 and tid 1, ns; 0 if it ran on one thread.
double measure_round_trip() {
    constexpr int kTrips = 16;
    struct alignas(64) Line {
        std::atomic<int> v{0};
    };
    Line ping, pong;
    double trips[kTrips];
    bool two = false;
    run_job(2, [&](int tid, int n) {
        if (n < 2) return;
        if (tid == 1) {
            for (int i = 0; i <= kTrips; ++i) {  // trip 0 wakes the worker up: not timed
                wait_until([&] { return ping.v.load(std::memory_order_acquire) > i; });
                pong.v.store(i + 1, std::memory_order_release);
            }
            return;
        }
        two = true;  // tid 0 (a job of 2 has tids 0 and 1 only)
        for (int i = 0; i <= kTrips; ++i) {
            const auto t0 = Clock::now();
            ping.v.store(i + 1, std::memory_order_release);
            wait_until([&] { return pong.v.load(std::memory_order_acquire) > i; });
            if (i > 0) trips[i - 1] = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
        }
    }, false);
    if (!two) return 0;
    std::nth_element(trips, trips + kTrips / 2, trips + kTrips);
    return trips[kTrips / 2];
}
}  // namespace

double cross_core_round_trip_ns() {
    const int64_t now = Clock::now().time_since_epoch().count();
    int64_t next = g_round_trip_next.load(std::memory_order_relaxed);
    // One caller claims each refresh; the others use the last value meanwhile.
    if (now >= next && get_num_threads() >= 2 && !threads_contended() &&
        g_round_trip_next.compare_exchange_strong(next, now + kRoundTripRefresh, std::memory_order_relaxed)) {
        const double measured = measure_round_trip();
        if (measured > 0) g_round_trip_ps.store(int64_t(measured * 1000.0), std::memory_order_relaxed);
    }
    const double ns = last_round_trip_ns();
    return ns < 0 ? std::numeric_limits<double>::infinity() : ns;
}

bool threads_contended() {
    return Clock::now().time_since_epoch().count() < g_backoff_until.load(std::memory_order_relaxed);
}

}  // namespace lstm_fast
