import Logging
import Testing
import SpinePlanDICOM
@testable import SpinePlanService

@Suite struct InstanceInboxTests {
    @Test("a closed inbox ends its consumer")
    func closeEnds() async {
        let inbox = InstanceInbox(capacity: 2, logger: Logger(label: "test"))
        inbox.close()
        let next = await inbox.next()
        #expect(next == nil)
    }
}
