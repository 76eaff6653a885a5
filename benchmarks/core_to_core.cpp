// Cache-line round trip between two CPUs: what one split step's barrier costs at least.
// (docs/performance.md: on this project's 2-vCPU VM it switches between ~100 and ~580 ns
// within seconds, which is why the 2-thread rows of small shapes are bimodal.)
//
// Two threads pinned to CPUs A and B bounce a counter through two cache lines, N times;
// prints the mean round trip. Linux only (pthread_setaffinity_np).
//
//   g++ -O2 -pthread benchmarks/core_to_core.cpp -o /tmp/core_to_core
//   for i in 1 2 3 4 5; do /tmp/core_to_core 0 1; sleep 2; done
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#define PAUSE() _mm_pause()
#else
#define PAUSE() ((void)0)
#endif

namespace {

alignas(64) std::atomic<long> ping{0};
alignas(64) std::atomic<long> pong{0};

bool pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace

int main(int argc, char** argv) {
    const int a = argc > 1 ? std::atoi(argv[1]) : 0, b = argc > 2 ? std::atoi(argv[2]) : 1;
    const long n = 200000;
    bool pinned_b = false;
    std::thread other([&] {
        pinned_b = pin(b);
        for (long i = 1; i <= n; ++i) {
            while (ping.load(std::memory_order_acquire) < i) PAUSE();
            pong.store(i, std::memory_order_release);
        }
    });
    if (!pin(a)) {
        std::fprintf(stderr, "cannot pin to CPU %d\n", a);
        other.detach();
        return 2;
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 1; i <= n; ++i) {
        ping.store(i, std::memory_order_release);
        while (pong.load(std::memory_order_acquire) < i) PAUSE();
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    other.join();
    if (!pinned_b) {
        std::fprintf(stderr, "cannot pin to CPU %d\n", b);
        return 2;
    }
    std::printf("CPU %d <-> CPU %d: round trip %.0f ns\n", a, b, ns);
    return 0;
}
