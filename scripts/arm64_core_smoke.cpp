// Smoke test of the C++ core's portable path, for a cross build (scripts/check_arm64_core.sh):
// every weight/matmul mode runs a small bidirectional, projected 2-layer LSTM, and each
// reduced-precision result must stay near float32 (the Python suite checks the numbers
// exactly on x86-64; this checks the arm64 build computes the same thing).
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels.h"
#include "lstm.h"

using namespace lstm_fast;

int main() {
    LstmSpec s;
    s.input_size = 13;
    s.hidden_size = 40;
    s.num_layers = 2;
    s.bidirectional = true;
    s.proj_size = 11;
    std::mt19937 gen(0);
    std::uniform_real_distribution<float> u(-0.3f, 0.3f);
    std::vector<std::vector<float>> store;
    std::vector<const float*> ptrs;
    for (int64_t l = 0; l < s.num_layers; ++l)
        for (int64_t d = 0; d < s.directions(); ++d) {
            const int64_t H = s.hidden_size, R = s.real_hidden();
            for (int64_t n : {4 * H * s.layer_input(l), 4 * H * R, 4 * H, 4 * H, s.proj_size * H}) {
                store.emplace_back(size_t(n));
                for (auto& v : store.back()) v = u(gen);
                ptrs.push_back(store.back().data());
            }
        }
    const int64_t T = 7, B = 3, D = s.directions(), R = s.real_hidden();
    std::vector<float> x(size_t(T * B * s.input_size));
    for (auto& v : x) v = 3 * u(gen);
    const int64_t lengths[B] = {7, 4, 0};
    auto run = [&](WeightType w, MatmulType m) {
        LstmModel model(s, ptrs, w, m);
        std::vector<float> y(size_t(T * B * D * R)), hn(size_t(s.num_layers * D * B * R)),
            cn(size_t(s.num_layers * D * B * s.hidden_size));
        ForwardArgs a;
        a.x = {x.data(), B * s.input_size, s.input_size};
        a.steps = T;
        a.batch = B;
        a.lengths = lengths;
        a.y = {y.data(), B * D * R, D * R};
        a.h_n = hn.data();
        a.c_n = cn.data();
        model.forward(a);
        return y;
    };
    const auto ref = run(WeightType::Float32, MatmulType::Float32);
    struct Mode {
        const char* name;
        WeightType w;
        MatmulType m;
        double tol;
    } modes[] = {{"bfloat16 weights", WeightType::Bfloat16, MatmulType::Float32, 1e-2},
                 {"bfloat16 matmul", WeightType::Bfloat16, MatmulType::Bfloat16, 1e-2},
                 {"int8", WeightType::Int8, MatmulType::Int8, 5e-2}};
    const auto& info = cpu_info();
    std::printf("isa %s, bf16 matmul %s, int8 %s\n", info.isa.c_str(), info.bf16_matmul.c_str(),
                info.int8_matmul.c_str());
    double mag = 0;
    for (float v : ref) mag = std::fmax(mag, std::fabs(v));
    int bad = !(mag > 1e-3 && std::isfinite(mag));
    std::printf("float32: max |y| %.3f\n", mag);
    for (const auto& mode : modes) {
        const auto y = run(mode.w, mode.m);
        double err = 0;
        for (size_t i = 0; i < y.size(); ++i) err = std::fmax(err, std::fabs(double(y[i]) - ref[i]));
        const bool ok = err > 0 && err < mode.tol;
        bad |= !ok;
        std::printf("%-17s max |y - y_float32| = %.2e (%s, bound %.0e)\n", mode.name, err, ok ? "ok" : "FAIL", mode.tol);
    }
    // Padding past each sequence's end stays exactly zero.
    for (int64_t t = 4; t < T; ++t)
        for (int64_t k = 0; k < D * R; ++k) bad |= ref[size_t((t * B + 1) * D * R + k)] != 0.0f;
    std::printf(bad ? "FAILED\n" : "passed\n");
    return bad;
}
