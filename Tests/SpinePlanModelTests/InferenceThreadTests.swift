import Foundation
import Synchronization
import Testing
@testable import SpinePlanModel

/// The one-thread job queue that all oneDNN work goes through, and the resident it owns.
@Suite struct InferenceThreadTests {
    @Test("jobs from many tasks all run on one thread, one at a time, and typed errors come back")
    func oneThread() async throws {
        let thread = InferenceThread<Int>(name: "test.inference")
        defer { thread.stop() }
        let seen = try await withThrowingTaskGroup(of: [(thread: UInt, count: Int)].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var seen: [(UInt, Int)] = []
                    for _ in 0..<20 {
                        seen.append(try await thread.run { (resident: inout Int?) in
                            // Not atomic on purpose: two jobs at once would lose counts.
                            let before = resident ?? 0
                            usleep(50)
                            resident = before + 1
                            return (UInt(bitPattern: Int(bitPattern: pthread_self())), before + 1)
                        })
                    }
                    return seen
                }
            }
            var all: [(thread: UInt, count: Int)] = []
            for try await part in group { all += part }
            return all
        }
        #expect(seen.count == 160)
        #expect(Set(seen.map(\.thread)).count == 1)
        #expect(seen.first?.thread != UInt(bitPattern: Int(bitPattern: pthread_self())))
        #expect(Set(seen.map(\.count)) == Set(1...160), "a job saw another one's half-done update")
        let error = await #expect(throws: ModelError.self) {
            _ = try await thread.run { (_: inout Int?) throws(ModelError) -> Int in throw ModelError(.engineFailure, "boom") }
        }
        #expect(error?.message == "boom")
    }

    @Test("after stop, queued jobs finish and new ones fail with an error instead of hanging")
    func stop() async throws {
        let thread = InferenceThread<Int>(name: "test.inference.stop")
        let finished = Mutex(false)
        #expect(thread.submit { resident in
            usleep(100_000)
            resident = 7
            finished.withLock { $0 = true }
        })
        thread.stop()
        #expect(!thread.submit { _ in })
        await #expect(throws: ModelError.self) { _ = try await thread.run { (_: inout Int?) in 1 } }
        for _ in 0..<200 where !finished.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(finished.withLock { $0 }, "the job queued before stop() did not run")
    }
}
