// Localizer forward-pass benchmark: FMA peak of this machine, then the V-Net in bf16 and f32.
//
//   swift run -c release --package-path Benchmarks LocalizerBenchmark [--runs 25] [--weights PATH]
//
// Everything is measured in one process and one run; the machine is shared, so treat single figures as noisy.
import CFMAPeak
import Dispatch
import Foundation
import Logging
@_spi(Diagnostics) import SpinePlanModel
import SpinePlanDICOM
import SpinePlanGeometry

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func ms(_ from: UInt64, _ to: UInt64) -> Double { Double(to - from) / 1e6 }
func median(_ values: [Double]) -> Double { let s = values.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
func percentile(_ values: [Double], _ p: Double) -> Double { let s = values.sorted(); return s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))] }
func f1(_ v: Double) -> String { String(format: "%.1f", v) }

/// Process CPU time (user + system) in ms: on a shared machine it shows the work done, independent of preemption.
func cpuMilliseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000
}

/// The calling thread's CPU time in seconds.
func threadSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

/// Resident set size now and at its peak, from /proc/self/status (kB → MB).
func memory() -> (rss: Double, peak: Double) {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Double {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0").map { $0 / 1024 } ?? 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

var runs = 25
var weights = Localizer.bundledWeightsPath
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--runs": runs = max(1, Int(arguments.next() ?? "") ?? runs)
    case "--weights": weights = arguments.next()
    default:
        FileHandle.standardError.write(Data("usage: LocalizerBenchmark [--runs N] [--weights PATH]\n".utf8))
        exit(2)
    }
}
guard let weights else {
    FileHandle.standardError.write(Data("no weights: pass --weights PATH\n".utf8))
    exit(1)
}

var logger = Logger(label: "spineplan.benchmark")
logger.logLevel = .warning
let cores = ProcessInfo.processInfo.activeProcessorCount
let processStart = now()

// 1. Time to first result, first thing in the process: load + validation + primitive creation + first forward.
let first = try await Localizer.load(weights: weights, precision: .auto, logger: logger)
let grid = first.sidecar.inputGrid.shapeDHW
var generator = SystemRandomNumberGenerator()
let input = (0..<(grid[0] * grid[1] * grid[2])).map { _ in Float.random(in: 0...2, using: &generator) }
_ = try await first.forward(input)
let firstResult = ms(processStart, now())
let afterFirst = memory()
print("model            \(first.modelName) (\(first.architecture.channels) channels, \(first.sidecar.classes.count) classes)")
print("cpu              \(cores) cores, oneDNN ISA \(Localizer.instructionSet), auto precision \(first.path.rawValue)")
let environment = ProcessInfo.processInfo.environment
print("openmp           OMP_WAIT_POLICY=\(environment["OMP_WAIT_POLICY"] ?? "(unset)") OMP_NUM_THREADS=\(environment["OMP_NUM_THREADS"] ?? "(unset)"); load average at start \(loadAverage())")
print("first result     \(f1(firstResult)) ms from process start (load + primitives + warm-up pass \(f1(first.loadMilliseconds)) ms, then one forward)")
print("RSS with model   \(f1(afterFirst.rss)) MB (peak so far \(f1(afterFirst.peak)) MB)")

// 2. Whole pipeline on a synthetic sagittal stack, to show pre- and post-processing costs.
let stack = (0..<15).map { k -> Slice in
    let plane = ImagePlane(position: Vector3(-28 + 4 * Double(k), -160, 160), rowDirection: Vector3(0, 1, 0),
                           columnDirection: Vector3(0, 0, -1), pixelSpacing: SIMD2(1.25, 1.25), rows: 256, columns: 256)
    let pixels = (0..<(256 * 256)).map { i in Float((i % 256) ^ (i / 256 + k)) }
    return Slice(sopInstanceUID: "2.25.\(k)", seriesInstanceUID: "2.25.1", frameOfReferenceUID: "2.25.2", plane: plane,
                 instanceNumber: k + 1, patientStudy: PatientStudy(studyInstanceUID: "2.25.3"), pixels: pixels)
}
var stages: [LocalizerResult.Timings] = []
for _ in 0..<5 { stages.append(try await first.segment(sagittal: stack).timings) }
print("pipeline         preprocess \(f1(median(stages.map(\.preprocessMilliseconds)))) ms, inference \(f1(median(stages.map(\.inferenceMilliseconds)))) ms, postprocess \(f1(median(stages.map(\.postprocessMilliseconds)))) ms (median of 5, 15 slices 256², segment(sagittal:))")

// 3. Peak: independent FMA chains on every core at once. Each thread divides its FLOPs by its own CPU time, so
// the figure is what the cores deliver while they are ours, even if other processes preempt the benchmark.
func peak(_ kernel: @escaping @Sendable (UInt64) -> Double) -> Double {
    let iterations: UInt64 = 40_000_000
    _ = kernel(iterations / 20)
    let group = DispatchGroup()
    let rate = LockedBox(0.0)
    for _ in 0..<cores {
        group.enter()
        let thread = Thread {
            let start = threadSeconds()
            let f = kernel(iterations)
            rate.add(f / (threadSeconds() - start) / 1e9)
            group.leave()
        }
        thread.start()
    }
    group.wait()
    return rate.value
}

final class LockedBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Double
    init(_ value: Double) { stored = value }
    func add(_ v: Double) { lock.lock(); stored += v; lock.unlock() }
    var value: Double { lock.lock(); defer { lock.unlock() }; return stored }
}

let fmaPeak = (0..<3).map { _ in peak { fmapeak_f32($0) } }.max()!
let bf16Peak = fmapeak_bf16(1) < 0 ? nil : (0..<3).map { _ in peak { fmapeak_bf16($0) } }.max()!
print("peak f32 FMA     \(f1(fmaPeak)) GFLOP/s on \(cores) cores (AVX-512 vfmadd, per-thread CPU time, best of 3)")
if let bf16Peak { print("peak bf16 dot    \(f1(bf16Peak)) GFLOP/s on \(cores) cores (AVX512-BF16 vdpbf16ps, best of 3)") }
print("AMX              \(Localizer.instructionSet.contains("amx") ? "available" : "not available on this CPU")")

// 4. Forward pass per precision: warm-up, then the median of `runs`.
let forwardFlops = first.architecture.flops(depth: grid[0], height: grid[1], width: grid[2])
print("forward FLOPs    \(f1(forwardFlops / 1e9)) GFLOP (convolutions, 2 per multiply-add, input \(grid))")
var precisions: [Precision] = [.f32]
if Localizer.preferredPrecision == .bf16 { precisions.insert(.bf16, at: 0) }
for precision in precisions {
    let localizer = precision == first.path ? first : try await Localizer.load(weights: weights, precision: precision, logger: logger)
    for _ in 0..<3 { _ = try await localizer.forward(input) }
    var times: [Double] = [], cpu: [Double] = []
    for _ in 0..<runs {
        let start = now(), cpuStart = cpuMilliseconds()
        _ = try await localizer.forward(input)
        times.append(ms(start, now()))
        cpu.append(cpuMilliseconds() - cpuStart)
    }
    let m = median(times)
    let rate = forwardFlops / (m / 1000) / 1e9
    let reference = precision == .bf16 ? (bf16Peak ?? fmaPeak) : fmaPeak
    print("")
    print("[\(precision.rawValue)] forward   median \(f1(m)) ms, min \(f1(times.min()!)), p90 \(f1(percentile(times, 0.9))) over \(runs) runs; load + primitives + warm-up \(f1(localizer.loadMilliseconds)) ms")
    print("[\(precision.rawValue)] cpu time  median \(f1(median(cpu))) ms per forward over all threads (spinning OpenMP threads count too)")
    print("[\(precision.rawValue)] rate      \(f1(rate)) GFLOP/s = \(f1(100 * rate / fmaPeak)) % of f32 FMA peak" +
          (precision == .bf16 && bf16Peak != nil ? ", \(f1(100 * rate / reference)) % of bf16 dot peak" : ""))
    // Per layer: median of 5 profiled passes (each primitive waited for, so slightly slower than the pipelined run).
    var profiles: [[(name: String, implementation: String, milliseconds: Double, flops: Double)]] = []
    for _ in 0..<5 { profiles.append(try await localizer.profile(input)) }
    let steps = profiles[0].indices.map { index in
        (name: profiles[0][index].name, implementation: profiles[0][index].implementation,
         milliseconds: median(profiles.map { $0[index].milliseconds }), flops: profiles[0][index].flops)
    }
    let tag = "[\(precision.rawValue)]"
    let peakName = precision == .bf16 && bf16Peak != nil ? "bf16 dot" : "f32 FMA"
    func percent(_ flops: Double, _ milliseconds: Double) -> Double { 100 * flops / (milliseconds / 1000) / 1e9 / reference }
    print("\(tag) step                      ms   GFLOP/s  %peak  implementation")
    for step in steps {
        let rate = step.flops > 0 ? String(format: "%8.1f  %5.1f", step.flops / (step.milliseconds / 1000) / 1e9, percent(step.flops, step.milliseconds)) : String(repeating: " ", count: 15)
        print("\(tag)   " + step.name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%6.3f  ", step.milliseconds) + rate + "  " + step.implementation)
    }
    // A layer of the architecture may run as several convolution steps (`dec0.block.0.u` + `dec0.block.0.skip`).
    let layers = first.architecture.layerFlops(depth: grid[0], height: grid[1], width: grid[2]).map { layer in
        (name: layer.name, flops: layer.flops,
         milliseconds: steps.filter { $0.flops > 0 && ($0.name == layer.name || $0.name.hasPrefix(layer.name + ".")) }.reduce(0) { $0 + $1.milliseconds })
    }
    let convolutionTime = steps.filter { $0.flops > 0 }.reduce(0) { $0 + $1.milliseconds }
    let totalFlops = layers.reduce(0) { $0 + $1.flops }
    // Conv-heavy: the fewest layers, largest FLOP count first, that together carry at least 80 % of the FLOPs.
    // Chosen by work alone, never by how fast a layer runs, so the set cannot be tuned to flatter the figure.
    var heavy: [(name: String, flops: Double, milliseconds: Double)] = []
    for layer in layers.sorted(by: { $0.flops > $1.flops }) where heavy.reduce(0, { $0 + $1.flops }) < 0.8 * totalFlops { heavy.append(layer) }
    let heavyFlops = heavy.reduce(0) { $0 + $1.flops }, heavyTime = heavy.reduce(0) { $0 + $1.milliseconds }
    let blocks = layers.filter { $0.name.contains(".block.") }
    let blockFlops = blocks.reduce(0) { $0 + $1.flops }, blockTime = blocks.reduce(0) { $0 + $1.milliseconds }
    print("\(tag) conv-heavy layers (fewest layers carrying >= 80 % of the FLOPs, \(heavy.count) of \(layers.count), \(f1(100 * heavyFlops / totalFlops)) % of the FLOPs):")
    print("\(tag)   " + heavy.map { "\($0.name) \(String(format: "%.0f", percent($0.flops, $0.milliseconds)))%" }.joined(separator: ", "))
    print("\(tag) conv-heavy layers    \(f1(heavyTime)) ms, \(f1(heavyFlops / (heavyTime / 1000) / 1e9)) GFLOP/s = \(f1(percent(heavyFlops, heavyTime))) % of the \(peakName) peak (FLOP-weighted)")
    print("\(tag) all convolutions     \(f1(convolutionTime)) ms, \(f1(totalFlops / (convolutionTime / 1000) / 1e9)) GFLOP/s = \(f1(percent(totalFlops, convolutionTime))) % of the \(peakName) peak")
    print("\(tag) residual-block convs \(f1(blockTime)) ms, \(f1(blockFlops / (blockTime / 1000) / 1e9)) GFLOP/s = \(f1(percent(blockFlops, blockTime))) % of the \(peakName) peak")
    // Everything else, by kind (named by the step's last component).
    var kinds: [String: (count: Int, milliseconds: Double)] = [:]
    for step in steps where step.flops == 0 {
        let kind = step.name.split(separator: ".").last.map(String.init) ?? step.name
        let key = kind.contains("→") ? "convert" : kind
        kinds[key, default: (0, 0)].count += 1
        kinds[key, default: (0, 0)].milliseconds += step.milliseconds
    }
    let otherTime = kinds.values.reduce(0) { $0 + $1.milliseconds }
    print("\(tag) not convolution      \(f1(otherTime)) ms: " + kinds.sorted { $0.value.milliseconds > $1.value.milliseconds }
        .map { "\($0.key) \(f1($0.value.milliseconds)) (\($0.value.count))" }.joined(separator: ", "))
    print("\(tag) profiled total       \(f1(convolutionTime + otherTime)) ms in \(steps.count) steps")
}
let end = memory()
print("")
print("load average at end \(loadAverage())")
print("peak RSS         \(f1(end.peak)) MB for the whole benchmark (two models loaded); \(f1(afterFirst.peak)) MB with one model")
