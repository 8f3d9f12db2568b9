import Foundation
import Synchronization
import Testing
@testable import SpinePlanModel

/// The one-thread job queue that all oneDNN work goes through, and the gate that serialises localizer runs.
@Suite struct InferenceThreadTests {
    @Test("jobs from many tasks all run on one thread, in order per submitter, and typed errors come back")
    func oneThread() async throws {
        let thread = InferenceThread(name: "test.inference")
        defer { thread.stop() }
        let threads = try await withThrowingTaskGroup(of: [UInt].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var seen: [UInt] = []
                    for _ in 0..<20 { seen.append(try await thread.run { UInt(bitPattern: Int(bitPattern: pthread_self())) }) }
                    return seen
                }
            }
            var all: [UInt] = []
            for try await seen in group { all += seen }
            return all
        }
        #expect(threads.count == 160)
        #expect(Set(threads).count == 1)
        #expect(threads.first != UInt(bitPattern: Int(bitPattern: pthread_self())))
        let error = await #expect(throws: ModelError.self) {
            _ = try await thread.run { () throws(ModelError) -> Int in throw ModelError(.engineFailure, "boom") }
        }
        #expect(error?.message == "boom")
    }

    @Test("the gate lets one run through at a time and every waiter in")
    func gate() async {
        let gate = PipelineGate()
        let inside = Occupancy()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    await gate.enter()
                    inside.state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    await Task.yield()
                    inside.state.withLock { $0.now -= 1; $0.done += 1 }
                    await gate.leave()
                }
            }
        }
        let final = inside.state.withLock { $0 }
        #expect(final.most == 1)
        #expect(final.done == 12)
    }
}

/// How many runs are inside the gate now, at most, and in total.
final class Occupancy: Sendable {
    let state = Mutex((now: 0, most: 0, done: 0))
}
