import Testing
import WitnessCore

@testable import WitnessNode

@Suite struct WindowRequestParserTests {
    func parse(_ text: String) throws(WindowError) -> WindowRequest {
        try WindowRequestParser.parse(Array(text.utf8), defaultMilliseconds: 60_000)
    }

    @Test func readsBothSubjectShapes() throws {
        let full = try parse(
            #"{"trialId":"TRB-1","subject":{"kind":"pod","value":"0B9C1F4E-1111-2222-3333-444455556666"},"window":"90s","sostle":"l3"}"#
        )
        #expect(full.trialID == "TRB-1")
        #expect(full.subject == .podUID("0b9c1f4e-1111-2222-3333-444455556666"))
        #expect(full.milliseconds == 90_000)
        #expect(full.sostle?.level == 3)
        #expect(try parse(#"{"subject":{"cgroup":"/trial"}}"#).milliseconds == 60_000)
        #expect(try parse(#"{"subject":{"pid":42},"window":1.5}"#).subject == .pid(42))
        #expect(try parse(#"{"subject":{"pid":42},"window":1.5}"#).milliseconds == 1500)
        #expect(
            try parse(#"{"subject":{"containerId":"containerd://ABCDEF0123456789"}}"#).subject
                == .containerID("abcdef0123456789"))
    }

    @Test(arguments: [
        "", "null", "[1]", "{", #"{"subject":1}"#, #"{"subject":{}}"#, #"{"subject":{"cgroup":"/a","pid":1}}"#,
        #"{"subject":{"kind":"cgroup"}}"#, #"{"subject":{"pid":-1}}"#, #"{"subject":{"pid":1.5}}"#,
        #"{"subject":{"pid":false}}"#,
        #"{"subject":{"cgroup":""}}"#, #"{"subject":{"cgroup":"/a/../../b"}}"#,
        #"{"subject":{"cgroup":"/a"},"window":0}"#,
        #"{"subject":{"cgroup":"/a"},"window":true}"#, #"{"subject":{"cgroup":"/a"},"window":"-5s"}"#,
        #"{"subject":{"cgroup":"/a"},"sostle":3}"#, #"{"subject":{"cgroup":"/a"},"trialId":""}"#,
        #"{"subject":{"cgroup":"/a"},"trialId":7}"#, #"{"subject":{"containerId":"xyz"}}"#,
        #"{"subject":{"cgroup":"/a"},"evil\n":1}"#,
    ])
    func rejectsBadBodies(body: String) {
        do {
            _ = try parse(body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.kind == .badRequest)
            #expect(!error.message.contains("\n"))
        }
    }
}
