// The Python binding: the only file that includes pybind11. It converts arrays,
// checks their shapes (in the user's terms: batch_first, unbatched), allocates the
// outputs with the GIL held, then releases the GIL once for the whole C++ call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"
#include "lstm.h"
#include "parallel.h"

namespace py = pybind11;
using lstm_fast::LstmModel;
using lstm_fast::LstmSpec;

namespace {

using FloatArray = py::array_t<float, py::array::forcecast>;
using CFloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::string shape_str(const py::array& a) {
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
    if (a.ndim() == 1) s << ",";
    s << ")";
    return s.str();
}

std::string tuple_str(std::initializer_list<int64_t> dims) {
    std::ostringstream s;
    s << "(";
    int i = 0;
    for (int64_t d : dims) s << (i++ ? ", " : "") << d;
    if (dims.size() == 1) s << ",";
    s << ")";
    return s.str();
}

// Float array from any numeric input; rejects non-numeric input with a TypeError.
py::array as_numeric(const py::handle& obj, const char* name) {
    py::array arr = py::array::ensure(obj);
    if (!arr) throw py::type_error(std::string(name) + " must be an array of numbers");
    const char kind = arr.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u')
        throw py::type_error(std::string(name) + " must hold real numbers, got dtype " +
                             py::str(arr.dtype()).cast<std::string>());
    return arr;
}

// A float32 array (C-contiguous if Arr asks for it) of any numeric input. The common case,
// an aligned native float32 ndarray of that layout, is used as it is: isinstance reads its
// dtype and flags, where the converting path (ensure, the dtype's kind, ensure again) cost
// ~0.2 us per argument on a 2.24 GHz core, which a streaming step (three arrays) notices.
template <class Arr>
Arr float_array(const py::handle& obj, const char* name) {
    if (py::isinstance<Arr>(obj) &&
        (py::detail::array_proxy(obj.ptr())->flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        return py::reinterpret_borrow<Arr>(obj);
    return Arr::ensure(as_numeric(obj, name));
}

// A new C-ordered float32 array of 2 or 3 dims, straight from numpy's constructor (numpy
// computes the strides): py::array_t's own constructor builds shape and stride vectors on
// the heap, which a streaming step does three times per call.
py::array_t<float> new_floats(std::initializer_list<py::ssize_t> shape) {
    auto& api = py::detail::npy_api::get();
    Py_intptr_t dims[3];
    int nd = 0;
    for (py::ssize_t d : shape) dims[nd++] = Py_intptr_t(d);
    // PyArray_NewFromDescr steals the reference to the dtype.
    PyObject* obj = api.PyArray_NewFromDescr_(api.PyArray_Type_, py::dtype::of<float>().release().ptr(), nd, dims,
                                              nullptr, nullptr, 0, nullptr);
    if (!obj) throw py::error_already_set();
    return py::reinterpret_steal<py::array_t<float>>(obj);
}

// A (T, B) view of x with element strides, copying only when the feature axis is
// not contiguous or the strides are not whole floats.
struct SeqInput {
    FloatArray arr;
    lstm_fast::SeqView view;
};

SeqInput make_input(const py::handle& obj, bool batch_first, int64_t input_size, bool* unbatched) {
    FloatArray arr = float_array<FloatArray>(obj, "input");
    const auto nd = arr.ndim();
    if (nd != 2 && nd != 3) {
        throw py::value_error("input must be 3-D " + std::string(batch_first ? "(B, T, " : "(T, B, ") +
                              std::to_string(input_size) + ") or 2-D (T, " + std::to_string(input_size) +
                              ") for unbatched input; got shape " + shape_str(arr));
    }
    if (arr.shape(nd - 1) != input_size)
        throw py::value_error("input.shape[-1] must be input_size=" + std::to_string(input_size) + "; got shape " +
                              shape_str(arr));
    const bool ok_strides = arr.strides(nd - 1) == py::ssize_t(sizeof(float)) &&
                            arr.strides(0) % py::ssize_t(sizeof(float)) == 0 &&
                            (nd == 2 || arr.strides(1) % py::ssize_t(sizeof(float)) == 0);
    if (!ok_strides) arr = CFloatArray::ensure(arr);
    *unbatched = nd == 2;
    lstm_fast::SeqView v;
    v.data = arr.data();
    const int64_t s0 = arr.strides(0) / int64_t(sizeof(float));
    if (nd == 2) {
        v.t_stride = s0;
        v.b_stride = 0;
    } else {
        const int64_t s1 = arr.strides(1) / int64_t(sizeof(float));
        v.t_stride = batch_first ? s1 : s0;
        v.b_stride = batch_first ? s0 : s1;
    }
    return {arr, v};
}

CFloatArray make_state(const py::handle& obj, const char* name, int64_t layers, int64_t batch, int64_t size,
                       bool unbatched) {
    CFloatArray arr = float_array<CFloatArray>(obj, name);
    const bool ok = unbatched ? (arr.ndim() == 2 && arr.shape(0) == layers && arr.shape(1) == size)
                              : (arr.ndim() == 3 && arr.shape(0) == layers && arr.shape(1) == batch &&
                                 arr.shape(2) == size);
    if (!ok)
        throw py::value_error(std::string(name) + " must have shape " +
                              (unbatched ? tuple_str({layers, size}) : tuple_str({layers, batch, size})) +
                              " (num_layers*num_directions, " + (unbatched ? "" : "batch, ") +
                              (std::string(name) == "h_0" ? "proj_size or hidden_size" : "hidden_size") +
                              "); got " + shape_str(arr));
    return arr;
}

py::array_t<int64_t> make_lengths(const py::handle& obj, int64_t batch) {
    py::array arr = py::array::ensure(obj);
    if (!arr) throw py::type_error("lengths must be a sequence of integers");
    const char kind = arr.dtype().kind();
    if (kind != 'i' && kind != 'u')
        throw py::type_error("lengths must be integers, got dtype " + py::str(arr.dtype()).cast<std::string>());
    if (arr.ndim() > 1 || (arr.ndim() == 1 ? arr.shape(0) : 1) != batch)
        throw py::value_error("lengths must have one entry per batch element (" + std::to_string(batch) +
                              "); got shape " + shape_str(arr));
    return py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(arr);
}

py::tuple forward(const LstmModel& model, const py::handle& input, const py::handle& hx, const py::handle& lengths,
                  bool batch_first) {
    // hx is unpacked here rather than in lstm.py: a Python-level check costs ~0.2 us a call.
    // Owned references: converting h_0 may run Python code (__array__) that edits a list.
    py::object h0 = py::none(), c0 = py::none();
    if (!hx.is_none()) {
        PyObject* pair = hx.ptr();  // PySequence_Fast_* read a tuple's or a list's items
        if (!(PyTuple_Check(pair) || PyList_Check(pair)) || PySequence_Fast_GET_SIZE(pair) != 2)
            throw py::type_error("hx must be a pair (h_0, c_0)");
        h0 = py::reinterpret_borrow<py::object>(PySequence_Fast_GET_ITEM(pair, 0));
        c0 = py::reinterpret_borrow<py::object>(PySequence_Fast_GET_ITEM(pair, 1));
    }
    const LstmSpec& s = model.spec();
    bool unbatched = false;
    SeqInput x = make_input(input, batch_first, s.input_size, &unbatched);
    const bool bf = batch_first && !unbatched;
    const int64_t T = x.arr.shape(unbatched ? 0 : (bf ? 1 : 0));
    const int64_t B = unbatched ? 1 : x.arr.shape(bf ? 0 : 1);
    const int64_t LD = s.num_layers * s.directions(), R = s.real_hidden(), H = s.hidden_size, DR = s.directions() * R;
    if (h0.is_none() != c0.is_none()) throw py::value_error("hx must be None or a pair (h_0, c_0)");
    std::optional<CFloatArray> h, c;
    if (!h0.is_none()) {
        h = make_state(h0, "h_0", LD, B, R, unbatched);
        c = make_state(c0, "c_0", LD, B, H, unbatched);
    }
    std::optional<py::array_t<int64_t>> lens;
    if (!lengths.is_none()) lens = make_lengths(lengths, B);

    // Outputs, allocated with the GIL held; sizes are bounded by the input's own size.
    // The output is bounded like the workspace: refuse before numpy tries to allocate it.
    const int64_t out_limit = lstm_fast::max_workspace_bytes() / int64_t(sizeof(float));
    if (T > 0 && B > 0 && (B > out_limit / T || T * B > out_limit / std::max<int64_t>(DR, 1)))
        throw py::value_error("the output (" + std::to_string(T) + " steps x " + std::to_string(B) + " x " +
                              std::to_string(DR) + " floats) would exceed the " +
                              std::to_string(lstm_fast::max_workspace_bytes() >> 30) + " GiB limit; split the call");
    py::array_t<float> y = unbatched ? new_floats({T, DR}) : (bf ? new_floats({B, T, DR}) : new_floats({T, B, DR}));
    py::array_t<float> hn = unbatched ? new_floats({LD, R}) : new_floats({LD, B, R});
    py::array_t<float> cn = unbatched ? new_floats({LD, H}) : new_floats({LD, B, H});

    lstm_fast::ForwardArgs a;
    a.x = x.view;
    a.steps = T;
    a.batch = B;
    a.lengths = lens ? lens->data() : nullptr;
    a.h0 = h ? h->data() : nullptr;
    a.c0 = c ? c->data() : nullptr;
    a.y.data = y.mutable_data();
    a.y.t_stride = bf ? DR : B * DR;
    a.y.b_stride = bf ? T * DR : DR;
    a.h_n = hn.mutable_data();
    a.c_n = cn.mutable_data();
    {
        py::gil_scoped_release release;
        model.forward(a);
    }
    return py::make_tuple(y, py::make_tuple(hn, cn));
}

// The body of LSTM.forward and LSTM.__call__, C methods of the Python class (below). The Python-level
// __call__ they replace (a frame, a bound method, then pybind11's dispatch) took 0.26 us more
// per call: 1.33 against 1.07 us for a one-step LSTM(1, 1) on a 2.31 GHz Xeon, interleaved
// (benchmarks/call_overhead.py, docs/call_overhead_spr_slow.json). This function
// reads the same two attributes the Python version did (self._state, the (weights, kernel
// model) pair swapped in one assignment, and self.batch_first) and parses the same three
// arguments, then runs forward() above.
PyObject* run_call(const char* fn, PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static constexpr const char* kNames[3] = {"input", "hx", "lengths"};
    try {
        PyObject* arg[3] = {nullptr, Py_None, Py_None};
        if (nargs > 3)
            throw py::type_error(std::string(fn) + " takes from 1 to 3 arguments (input, hx, lengths) but " +
                                 std::to_string(nargs) + " were given");
        for (Py_ssize_t i = 0; i < nargs; ++i) arg[i] = args[i];
        const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
        for (Py_ssize_t k = 0; k < nkw; ++k) {
            PyObject* key = PyTuple_GET_ITEM(kwnames, k);
            int i = 0;
            while (i < 3 && PyUnicode_CompareWithASCIIString(key, kNames[i]) != 0) ++i;
            if (i == 3)
                throw py::type_error(std::string(fn) + " got an unexpected keyword argument '" +
                                     py::str(key).cast<std::string>() + "'");
            if (i < nargs)
                throw py::type_error(std::string(fn) + " got multiple values for argument '" + kNames[i] + "'");
            arg[i] = args[nargs + k];
        }
        if (!arg[0]) throw py::type_error(std::string(fn) + " missing required argument 'input'");
        static PyObject* const state_name = PyUnicode_InternFromString("_state");
        static PyObject* const batch_first_name = PyUnicode_InternFromString("batch_first");
        const py::object state = py::reinterpret_steal<py::object>(PyObject_GetAttr(self, state_name));
        if (!state) throw py::error_already_set();
        if (!PyTuple_Check(state.ptr()) || PyTuple_GET_SIZE(state.ptr()) != 2)
            throw py::type_error("LSTM._state must be the (weights, kernel model) pair");
        const LstmModel& model = py::cast<const LstmModel&>(PyTuple_GET_ITEM(state.ptr(), 1));
        const py::object bf = py::reinterpret_steal<py::object>(PyObject_GetAttr(self, batch_first_name));
        if (!bf) throw py::error_already_set();
        const int batch_first = PyObject_IsTrue(bf.ptr());
        if (batch_first < 0) throw py::error_already_set();
        return forward(model, arg[0], arg[1], arg[2], batch_first != 0).release().ptr();
    } catch (...) {
        py::detail::try_translate_exceptions();  // sets the Python error, as pybind11's own dispatcher does
        return nullptr;
    }
}

PyTypeObject* g_lstm_type = nullptr;  // the class the two methods below were made for (lstm.py's LSTM)
PyObject* g_forward = nullptr;        // its forward, a method descriptor (a strong reference)

PyObject* lstm_forward(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    return run_call("LSTM.forward()", self, args, nargs, kwnames);
}

// m(...) runs m.forward(...), as torch.nn.Module.__call__ does: a subclass's forward is the
// one called. On LSTM itself that costs a pointer comparison; a subclass pays one type
// attribute lookup more. A forward set on an instance is refused by LSTM.__setattr__
// (lstm.py) instead of looked for here: checking the instance's __dict__ on every call cost
// ~5 % of a one-step LSTM(1, 1) call (benchmarks/ab_builds.py, Zen 4, 2026-12-04).
PyObject* lstm_call(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static PyObject* const forward_name = PyUnicode_InternFromString("forward");
    bool overridden = false;
    if (Py_TYPE(self) != g_lstm_type) {
        PyObject* f = PyObject_GetAttr(reinterpret_cast<PyObject*>(Py_TYPE(self)), forward_name);
        if (!f) return nullptr;
        overridden = f != g_forward;
        Py_DECREF(f);
    }
    if (overridden) {  // self.forward(*args, **kwargs), resolved as Python resolves it
        const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
        std::vector<PyObject*> stack;
        try {
            stack.resize(size_t(1 + nargs + nkw));
        } catch (const std::bad_alloc&) {
            return PyErr_NoMemory();
        }
        stack[0] = self;
        std::copy(args, args + nargs + nkw, stack.begin() + 1);
        return PyObject_VectorcallMethod(forward_name, stack.data(), size_t(1 + nargs), kwnames);
    }
    return run_call("LSTM.__call__()", self, args, nargs, kwnames);
}

#define LSTM_CALL_DOC(name)                                                                          \
    name "($self, input, hx=None, lengths=None)\n--\n\n"                                             \
    "``y, (h_n, c_n) = m(input, hx=None, lengths=None)``, float32 numpy, torch's shapes.\n\n"       \
    "input: (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched; any\n"                \
    "array-like of real numbers (converted once; never modified).\n"                                 \
    "hx: ``(h_0, c_0)`` of shapes (L*D, B, R) and (L*D, B, H) ((L*D, R), (L*D, H) unbatched).\n"     \
    "lengths: one int per batch element in [0, T]: the result equals torch's\n"                      \
    "``pack_padded_sequence(enforce_sorted=False)`` -> LSTM -> ``pad_packed_sequence(total_length=T)``."

PyMethodDef lstm_forward_def = {"forward", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&lstm_forward)),
                                METH_FASTCALL | METH_KEYWORDS, LSTM_CALL_DOC("forward")};

PyMethodDef lstm_call_def = {"__call__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&lstm_call)),
                             METH_FASTCALL | METH_KEYWORDS, LSTM_CALL_DOC("__call__")};
#undef LSTM_CALL_DOC

std::shared_ptr<LstmModel> make_model(int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias,
                                      bool bidirectional, int64_t proj_size, const std::vector<py::handle>& weights,
                                      const std::string& weights_dtype, const std::string& matmul_dtype) {
    // The dtype names lstm.py normalises to ("float32", "bfloat16", "int8").
    auto dtype = [](const std::string& name, const char* arg) {
        if (name == "float32") return 0;
        if (name == "bfloat16") return 1;
        if (name == "int8") return 2;
        throw py::value_error(std::string(arg) + " must be 'float32', 'bfloat16' or 'int8', got '" + name + "'");
    };
    const lstm_fast::WeightType wt =
        std::array{lstm_fast::WeightType::Float32, lstm_fast::WeightType::Bfloat16,
                   lstm_fast::WeightType::Int8}[size_t(dtype(weights_dtype, "weights_dtype"))];
    const lstm_fast::MatmulType mt =
        std::array{lstm_fast::MatmulType::Float32, lstm_fast::MatmulType::Bfloat16,
                   lstm_fast::MatmulType::Int8}[size_t(dtype(matmul_dtype, "matmul_dtype"))];
    if (mt == lstm_fast::MatmulType::Bfloat16 && wt != lstm_fast::WeightType::Bfloat16)
        throw py::value_error("matmul_dtype='bfloat16' needs weights_dtype='bfloat16'");
    if ((mt == lstm_fast::MatmulType::Int8) != (wt == lstm_fast::WeightType::Int8))
        throw py::value_error("weights_dtype='int8' and matmul_dtype='int8' go together");
    LstmSpec s;
    s.input_size = input_size;
    s.hidden_size = hidden_size;
    s.num_layers = num_layers;
    s.bias = bias;
    s.bidirectional = bidirectional;
    s.proj_size = proj_size;
    lstm_fast::check_spec(s);
    const int64_t per = s.tensors_per_direction(), D = s.directions(), H = s.hidden_size, R = s.real_hidden();
    if (int64_t(weights.size()) != s.num_layers * D * per)
        throw py::value_error("expected " + std::to_string(s.num_layers * D * per) + " weight tensors, got " +
                              std::to_string(weights.size()));
    std::vector<CFloatArray> arrays;
    std::vector<const float*> ptrs;
    for (int64_t l = 0; l < s.num_layers; ++l)
        for (int64_t d = 0; d < D; ++d) {
            std::vector<std::pair<std::string, std::vector<int64_t>>> expect = {
                {"weight_ih", {4 * H, s.layer_input(l)}}, {"weight_hh", {4 * H, R}}};
            if (s.bias) {
                expect.push_back({"bias_ih", {4 * H}});
                expect.push_back({"bias_hh", {4 * H}});
            }
            if (s.proj_size > 0) expect.push_back({"weight_hr", {s.proj_size, H}});
            for (size_t i = 0; i < expect.size(); ++i) {
                const std::string name = expect[i].first + "_l" + std::to_string(l) + (d ? "_reverse" : "");
                CFloatArray arr = float_array<CFloatArray>(weights[size_t((l * D + d) * per) + i], name.c_str());
                const auto& shape = expect[i].second;
                bool ok = arr.ndim() == py::ssize_t(shape.size());
                for (size_t k = 0; ok && k < shape.size(); ++k) ok = arr.shape(k) == shape[k];
                if (!ok) {
                    std::ostringstream want;
                    want << "(";
                    for (size_t k = 0; k < shape.size(); ++k) want << (k ? ", " : "") << shape[k];
                    want << (shape.size() == 1 ? ",)" : ")");
                    throw py::value_error(name + " must have shape " + want.str() + "; got " + shape_str(arr));
                }
                ptrs.push_back(arr.data());
                arrays.push_back(std::move(arr));
            }
        }
    py::gil_scoped_release release;
    return std::make_shared<LstmModel>(s, ptrs, wt, mt);
}


py::array_t<float> activation(CFloatArray x, bool tanh) {
    py::array_t<float> y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    const auto& k = lstm_fast::kernels();
    (tanh ? k.tanh : k.sigmoid)(x.data(), y.mutable_data(), int64_t(x.size()));
    return y;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "lstm_fast C++ core (use the lstm_fast package, not this module)";
    // Choose the kernels now: a bad LSTM_FAST_ISA fails the import with its message.
    lstm_fast::kernels();

    py::class_<LstmModel, std::shared_ptr<LstmModel>>(m, "LstmModel")
        .def(py::init(&make_model), py::arg("input_size"), py::arg("hidden_size"), py::arg("num_layers"),
             py::arg("bias"), py::arg("bidirectional"), py::arg("proj_size"), py::arg("weights"),
             py::arg("weights_dtype") = "float32", py::arg("matmul_dtype") = "float32")
        .def("forward", &forward, py::arg("input"), py::arg("hx") = py::none(), py::arg("lengths") = py::none(),
             py::arg("batch_first") = false)
        .def_property_readonly("block_width", &LstmModel::block_width)
        .def_property_readonly("weights_dtype", [](const LstmModel& m) {
            const auto t = m.weight_type();
            return t == lstm_fast::WeightType::Float32 ? "float32" : t == lstm_fast::WeightType::Bfloat16 ? "bfloat16" : "int8";
        })
        .def_property_readonly("matmul_dtype", [](const LstmModel& m) {
            const auto t = m.matmul_type();
            return t == lstm_fast::MatmulType::Float32 ? "float32" : t == lstm_fast::MatmulType::Bfloat16 ? "bfloat16" : "int8";
        });

    m.def(
        "_call_methods",
        [](py::type cls) {
            if (g_lstm_type) throw std::runtime_error("_call_methods: already made (for lstm.py's LSTM)");
            auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
            PyObject* call = PyDescr_NewMethod(type, &lstm_call_def);
            if (!call) throw py::error_already_set();
            py::object call_obj = py::reinterpret_steal<py::object>(call);
            PyObject* forward = PyDescr_NewMethod(type, &lstm_forward_def);
            if (!forward) throw py::error_already_set();
            Py_INCREF(type);
            g_lstm_type = type;
            g_forward = forward;  // kept for the life of the module, as the class is
            return py::make_tuple(call_obj, py::reinterpret_borrow<py::object>(forward));
        },
        py::arg("cls"),
        "private: (__call__, forward) for the class cls (lstm.py's LSTM), C method descriptors; once per process");

    m.def("cpu_info", [] {
        const auto& info = lstm_fast::cpu_info();
        py::dict d;
        d["isa"] = info.isa;
        d["reason"] = info.reason;
        d["compiled"] = info.compiled;
        d["supported"] = info.supported;
        d["bf16_matmul"] = info.bf16_matmul;
        d["bf16_matmul_supported"] = info.bf16_matmul_supported;
        d["int8_matmul"] = info.int8_matmul;
        d["int8_supported"] = info.int8_supported;
        d["l1d_cache_bytes"] = info.l1d_bytes;
        d["l2_cache_bytes"] = info.l2_bytes;
        d["l3_cache_bytes"] = info.l3_bytes;
        return d;
    });
    m.def("set_num_threads", &lstm_fast::set_num_threads, py::arg("n"));
    m.def("get_num_threads", &lstm_fast::get_num_threads);
    m.def(
        "thread_stats",
        [](bool reset) {
            const lstm_fast::ThreadStats t = lstm_fast::thread_stats(reset);
            py::dict d;
            d["parallel_jobs"] = t.parallel_jobs;
            d["alone_pool_busy"] = t.alone_pool_busy;
            d["alone_contended"] = t.alone_contended;
            d["contention_events"] = t.contention_events;
            d["round_trip_ns"] = t.round_trip_ns;
            return d;
        },
        py::arg("reset") = false);
    m.def("_note_contention", &lstm_fast::note_contention_for_test,
          "private: start the oversubscription backoff as a contended barrier wait does, for its test");
    m.def("_cpu_quota_from_cgroup", &lstm_fast::cpu_quota_from_cgroup, py::arg("cpu_max"),
          "private: CPUs a cgroup v2 cpu.max text allows (0: no limit), for its test");
    m.def(
        "_fixed_work",
        [](int64_t n, int threads) {
            if (n < 0 || n > (int64_t(1) << 32)) throw std::invalid_argument("_fixed_work: n must be in [0, 2^32] (~10 s)");
            if (threads < 1 || threads > lstm_fast::SpinBarrier::kMaxThreads)
                throw std::invalid_argument("_fixed_work: threads must be in [1, 64]");
            // One dependent chain per thread (no memory, no ILP), n split evenly; the chain
            // depends on n, so nothing folds at compile time.
            auto chain = [](int64_t k, double x) {
                for (int64_t i = 0; i < k; ++i) x = x * 0.9999999 + 0.1;
                return x;
            };
            const double x0 = 0.5 + 1e-12 * double(n);
            // As a split model call runs: the pool's threads (or fewer, as parallel_run
            // decides; one thread runs on the caller alone), the caller among them, joined at
            // the end (not counted in thread_stats: not the model's jobs); a thread that is
            // not there leaves its share to the others, so the total work stays n.
            std::array<double, lstm_fast::SpinBarrier::kMaxThreads> part{};
            py::gil_scoped_release release;
            lstm_fast::parallel_run_uncounted(threads, [&](int tid, int nt) {
                for (int t = tid; t < threads; t += nt) part[t] = chain(n / threads + (t < n % threads), x0);
            });
            double x = 0;
            for (int t = 0; t < threads; ++t) x += part[t];
            return x;
        },
        py::arg("n"), py::arg("threads") = 1,
        "private: n dependent multiply-adds with the GIL released, the same work every call, split "
        "across `threads` pool threads as a model call is: lstm_fast.bench's control for the machine's "
        "own timing tail");
    m.def(
        "_fixed_reads",
        [](py::array_t<float, py::array::c_style> buf, int64_t passes) {
            constexpr int64_t kLanes = 32;  // 32 independent sums: 8 SSE registers, two adds per cycle
            if (buf.ndim() != 1 || buf.size() < kLanes || buf.size() % kLanes)
                throw std::invalid_argument("_fixed_reads: buf must be a 1-D float32 array of a multiple of 32 values");
            if (passes < 0 || passes > (int64_t(1) << 24))
                throw std::invalid_argument("_fixed_reads: passes must be in [0, 2^24]");
            const float* p = buf.data();
            const int64_t n = buf.size();
            float acc[kLanes] = {};
            auto add = [&](const float* q) {
                for (int j = 0; j < kLanes; ++j) acc[j] += q[j];
            };
            {
                py::gil_scoped_release release;
                // Alternately forward and back, as the kernel sweeps its weight blocks (lstm.cpp).
                for (int64_t pass = 0; pass < passes; ++pass) {
                    if (pass & 1)
                        for (int64_t i = n - kLanes; i >= 0; i -= kLanes) add(p + i);
                    else
                        for (int64_t i = 0; i < n; i += kLanes) add(p + i);
                }
            }
            double total = 0;
            for (float v : acc) total += v;
            return total;
        },
        py::arg("buf"), py::arg("passes"),
        "private: sums buf `passes` times (sweeping forward, then back) with the GIL released: "
        "lstm_fast.bench's control for the machine's tail on cache-bound work of a model's size");

    py::module_ k = m.def_submodule("_kernels", "private: the vectorized kernels, for their tests");
    k.def("sigmoid", [](CFloatArray x) { return activation(x, false); });
    k.def("tanh", [](CFloatArray x) { return activation(x, true); });
}
