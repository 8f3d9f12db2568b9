/// Lets one localizer run through at a time, in arrival order.
actor PipelineGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            busy = false
        } else {
            // Ownership passes straight to the next run; `busy` stays true.
            waiting.removeFirst().resume()
        }
    }
}
