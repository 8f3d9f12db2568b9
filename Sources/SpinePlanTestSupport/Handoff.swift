import Foundation

/// A one-shot value handed from one thread to another: `set` once, `wait` blocks until it is set.
package final class Handoff<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `condition`.
    private let condition = NSCondition()
    private var value: Value?

    package init() {}

    package func set(_ v: Value) {
        condition.lock()
        value = v
        condition.broadcast()
        condition.unlock()
    }

    package func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
