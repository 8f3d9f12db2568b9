import CDNNL

/// The one choke point for oneDNN C calls that can fail: a failed status becomes a `ModelError` naming the call.
enum DNNL {
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws(ModelError) {
        guard status != dnnl_success else { return }
        throw ModelError(.engineFailure, "oneDNN could not \(what()): \(describe(status))")
    }

    static func describe(_ status: dnnl_status_t) -> String {
        switch status {
        case dnnl_out_of_memory: "out of memory"
        case dnnl_invalid_arguments: "invalid arguments"
        case dnnl_unimplemented: "no implementation for these shapes and types"
        case dnnl_runtime_error: "runtime error"
        default: "status \(status.rawValue)"
        }
    }

    /// True when oneDNN will use native bf16 (AVX512-BF16 or AMX) on this CPU.
    static var hasNativeBF16: Bool {
        let isa = dnnl_get_effective_cpu_isa().rawValue, bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }

    /// True when the CPU has AMX tiles that oneDNN will use.
    static var hasAMX: Bool {
        let isa = dnnl_get_effective_cpu_isa().rawValue, amx = dnnl_cpu_isa_avx512_core_amx.rawValue
        return isa & amx == amx
    }

    /// The name of oneDNN's effective instruction set, for logs and benchmark reports.
    static var isaName: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
        case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core: "avx512_core"
        case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
        case dnnl_cpu_isa_avx2: "avx2"
        case let isa: "isa 0x\(String(isa.rawValue, radix: 16))"
        }
    }

    static func memoryDesc(_ dims: [Int], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) throws(ModelError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), d, type, tag), "describe a \(dims) tensor")
        return md
    }

    static func memoryDesc(_ dims: [Int], _ type: dnnl_data_type_t, strides: [Int]) throws(ModelError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init), s = strides.map(Int64.init)
        try check(dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), d, type, s), "describe a strided \(dims) tensor")
        return md
    }

    /// Execution-argument index of a post-op's extra input (`DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) | argument`).
    static func postOpArgument(_ index: Int, _ argument: Int32) -> Int32 { Int32(16384 * (index + 1)) | argument }

    /// The implementation oneDNN chose for a primitive descriptor (`brgconv:avx512_core_bf16`, `ref:any`, ...).
    static func implementation(_ pd: const_dnnl_primitive_desc_t) -> String {
        var info: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info else { return "?" }
        return String(cString: info)
    }

    /// `DNNL_MEMORY_ALLOCATE`, which Swift cannot import.
    static var allocate: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: -1) }
}
