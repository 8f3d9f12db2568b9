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
let stack = (0..<15).map { k -> LocalizerImage in
    let plane = ImagePlane(position: Vector3(-28 + 4 * Double(k), -160, 160), rowDirection: Vector3(0, 1, 0),
                           columnDirection: Vector3(0, 0, -1), pixelSpacing: SIMD2(1.25, 1.25), rows: 256, columns: 256)
    let pixels = (0..<(256 * 256)).map { i in Float((i % 256) ^ (i / 256 + k)) }
    return LocalizerImage(plane: plane, pixels: pixels)
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
print("peak f32 FMA     \(f1(fmaPeak)) GFLOP/s on \(cores) cores (\(String(cString: fmapeak_f32_isa())) vfmadd, per-thread CPU time, best of 3)")
if let bf16Peak { print("peak bf16 dot    \(f1(bf16Peak)) GFLOP/s on \(cores) cores (AVX512-BF16 vdpbf16ps, best of 3)") }
print("AMX              \(Localizer.instructionSet.contains("amx") ? "available" : "not available on this CPU")")

// 4. Forward pass per precision: warm-up, then the median of `runs`.
let forwardFlops = first.architecture.flops(depth: grid[0], height: grid[1], width: grid[2])
// FLOPs the hardware must execute: a multiply-add whose input tap falls on the zero padding can be (and by oneDNN's
// brgemm kernels is) skipped, which is why nominal rates of the small padded layers exceed the peak. Padded layers
// are `in` and the residual-block convolutions; down, up and head convolutions have no padding.
let architecture = first.architecture
let levelSizes = (1..<max(1, architecture.levels)).reduce(into: [SIMD3(grid[0], grid[1], grid[2])]) { sizes, level in
    sizes.append(sizes[level - 1] / architecture.strides[level])
}
func unpaddedTaps(_ n: Int, _ k: Int) -> Int { (0..<n).reduce(0) { sum, o in sum + (0..<k).filter { o + $0 - k / 2 >= 0 && o + $0 - k / 2 < n }.count } }
func executedFraction(_ layer: String) -> Double {
    let level: Int
    if layer == "in" {
        level = 0
    } else if layer.contains(".block."), let l = Int(layer.dropFirst(3).prefix(while: \.isNumber)) {
        level = l
    } else {
        return 1
    }
    let k = architecture.kernels[level], n = levelSizes[level]
    return Double(unpaddedTaps(n.x, k.x) * unpaddedTaps(n.y, k.y) * unpaddedTaps(n.z, k.z)) / Double(n.x * k.x * n.y * k.y * n.z * k.z)
}
let layerFlops = architecture.layerFlops(depth: grid[0], height: grid[1], width: grid[2])
let executedFlops = layerFlops.reduce(0) { $0 + $1.flops * executedFraction($1.name) }
print("forward FLOPs    \(f1(forwardFlops / 1e9)) GFLOP nominal (convolutions, 2 per multiply-add, input \(grid)); \(String(format: "%.2f", executedFlops / 1e9)) GFLOP without multiply-adds on zero padding")
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
    // A layer of the architecture runs as one convolution step or several (`dec0.block.0.up` + `dec0.block.0.skip`).
    func layerName(_ step: String) -> String? {
        layerFlops.first { step == $0.name || step.hasPrefix($0.name + ".") }?.name
    }
    print("\(tag) step                      ms   GFLOP/s  %peak  %peak executed  implementation")
    for step in steps {
        var rate = String(repeating: " ", count: 30)
        if step.flops > 0 {
            let executed = step.flops * executedFraction(layerName(step.name) ?? step.name)
            rate = String(format: "%8.1f  %5.1f  %5.1f         ", step.flops / (step.milliseconds / 1000) / 1e9,
                          percent(step.flops, step.milliseconds), percent(executed, step.milliseconds))
        }
        print("\(tag)   " + step.name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%6.3f  ", step.milliseconds) + rate + step.implementation)
    }
    let layers = layerFlops.map { layer in
        (name: layer.name, nominal: layer.flops, executed: layer.flops * executedFraction(layer.name),
         milliseconds: steps.filter { $0.flops > 0 && layerName($0.name) == layer.name }.reduce(0) { $0 + $1.milliseconds })
    }
    typealias Layer = (name: String, nominal: Double, executed: Double, milliseconds: Double)
    func summary(_ label: String, _ set: [Layer]) {
        let time = set.reduce(0) { $0 + $1.milliseconds }, executed = set.reduce(0) { $0 + $1.executed }, nominal = set.reduce(0) { $0 + $1.nominal }
        print("\(tag) " + label.padding(toLength: 21, withPad: " ", startingAt: 0) + "\(f1(time)) ms: \(f1(percent(executed, time))) % of the \(peakName) peak on executed FLOPs (\(f1(executed / (time / 1000) / 1e9)) GFLOP/s), \(f1(percent(nominal, time))) % on nominal FLOPs")
    }
    // Conv-heavy: the fewest layers, largest executed FLOP count first, that together carry at least 80 % of the
    // executed FLOPs. Chosen by work alone, never by speed, so the set cannot be picked to flatter the figure.
    let totalExecuted = layers.reduce(0) { $0 + $1.executed }
    var heavy: [Layer] = []
    for layer in layers.sorted(by: { $0.executed > $1.executed }) where heavy.reduce(0, { $0 + $1.executed }) < 0.8 * totalExecuted { heavy.append(layer) }
    print("\(tag) conv-heavy layers: \(heavy.count) of \(layers.count), \(f1(100 * heavy.reduce(0) { $0 + $1.executed } / totalExecuted)) % of the executed FLOPs (FLOP-weighted % of peak per layer):")
    print("\(tag)   " + heavy.map { "\($0.name) \(String(format: "%.0f", percent($0.executed, $0.milliseconds)))" }.joined(separator: ", "))
    summary("conv-heavy layers", heavy)
    summary("all convolutions", layers)
    summary("residual-block convs", layers.filter { $0.name.contains(".block.") })
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
    print("\(tag) profiled total       \(f1(layers.reduce(0) { $0 + $1.milliseconds } + otherTime)) ms in \(steps.count) steps")
}
let end = memory()
print("")
print("load average at end \(loadAverage())")
print("peak RSS         \(f1(end.peak)) MB for the whole benchmark (two models loaded); \(f1(afterFirst.peak)) MB with one model")
