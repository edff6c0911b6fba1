import Foundation
import Testing
import Netsift
import NetsiftTestSupport

/// A capture copied by `CaptureWriter` must be, to the engine, the capture it was copied from: the
/// same findings, facts and conversations. (Byte-level round trips are in NetsiftCaptureTests.)
@Suite struct WrittenCaptureTests {
    @Test(arguments: Corpus.fixturesAndCaptures.filter { $0.hasPrefix(Corpus.fixturesDirectory.path) })
    func aCopyAnalysesAsTheOriginal(path: String) throws {
        let copy = FileManager.default.temporaryDirectory
            .appendingPathComponent("netsift-copy-\(UUID().uuidString)-\((path as NSString).lastPathComponent)").path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        var reader = try CaptureReader(path: path)
        let writer = try CaptureWriter(path: copy, like: &reader)
        #expect(reader.forEachPacket { packet, interfaces in writer.write(packet, from: interfaces) } == .finished)
        writer.close()
        #expect(writer.failure == nil)

        let original = try Analysis.analyze(path: path)
        let copied = try Analysis.analyze(path: copy)
        #expect(copied.end == .finished)
        #expect(copied.findings == original.findings)
        #expect(copied.verdict == original.verdict)
        let (a, b) = (original.report.capture, copied.report.capture)
        #expect(b.packets == a.packets && b.firstPacket == a.firstPacket && b.lastPacket == a.lastPacket)
        #expect(b.tcpStates == a.tcpStates && b.applicationMessages == a.applicationMessages)
        #expect(b.tcpConversations == a.tcpConversations && b.udpConversations == a.udpConversations)
    }
}
