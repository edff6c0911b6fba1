import Testing
import NetsiftDissect
import NetsiftFlows

/// The HTTP/1.x parser fed from strings, in the chunkings a capture may cut them into.
@Suite struct HTTP1ConnectionTests {
    /// Feeds `(fromClient, text)` pieces, each `chunk` bytes at a time, frame numbers counting up.
    static func run(_ pieces: [(Bool, String)], chunk: Int = .max) -> [HTTP1Message] {
        var connection = HTTP1Connection()
        var out: [HTTP1Message] = []
        var frame = 0
        for (fromClient, text) in pieces {
            let bytes = Array(text.utf8)
            var start = 0
            while start < bytes.count {
                frame += 1
                let piece = Array(bytes[start..<min(bytes.count, start + chunk)])
                piece.withUnsafeBytes { raw in
                    connection.consume(fromClient: fromClient, raw.bytes, frame: frame, time: Int64(frame) * 1_000_000) {
                        out.append($0)
                    }
                }
                start += chunk
            }
        }
        return out
    }

    static func statuses(_ messages: [HTTP1Message]) -> [String] {
        messages.map {
            switch $0 {
            case .request(let head, let body): "\(head.method!) \(head.target!) \(body)"
            case .response(let head, let body, let request, _): "\(head.status!) \(body) <- \(request?.target ?? "none")"
            case .tunnel(let tls): "tunnel tls=\(tls)"
            case .problem(let problem): "problem \(problem)"
            }
        }
    }

    @Test(arguments: [1, 3, 7, Int.max])
    func keepAlivePipeliningChunkedAndHead(chunk: Int) {
        let requests = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n0\r\nTrailer: t\r\n\r\n"
        let responses = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            + "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"   // HEAD: no body despite the length
            + "HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
        let out = Self.statuses(Self.run([(true, requests), (false, responses)], chunk: chunk))
        // Bodies as sent: chunk lines, data, CRLFs and the trailer (9 + 6 + 3 + 12 + 2 = 32 bytes).
        #expect(out == ["GET /a 0", "HEAD /b 0", "POST /c 32", "200 5 <- /a", "200 0 <- /b", "201 13 <- /c",
                        "204 0 <- none"])
    }

    @Test func continueThenFinalResponse() {
        let out = Self.statuses(Self.run([
            (true, "PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
            (false, "HTTP/1.1 100 Continue\r\n\r\n"),
            (true, "abc"),
            (false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ]))
        #expect(out == ["100 0 <- /up", "PUT /up 3", "200 0 <- /up"])
    }

    @Test func connectThenTLS() {
        let out = Self.statuses(Self.run([
            (true, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
            (false, "HTTP/1.1 200 Connection established\r\n\r\n"),
            (true, "\u{16}\u{03}\u{01}\u{00}\u{05}hello"),
            (false, "\u{16}\u{03}\u{03}\u{00}\u{02}xx"),
        ]))
        #expect(out == ["CONNECT example.com:443 0", "200 0 <- example.com:443", "tunnel tls=true"])
        let refused = Self.statuses(Self.run([
            (true, "CONNECT example.com:443 HTTP/1.1\r\n\r\n"),
            (false, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
            (true, "CONNECT example.com:443 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n"),
        ]))
        #expect(refused == ["CONNECT example.com:443 0", "407 0 <- example.com:443", "CONNECT example.com:443 0"])
    }

    @Test func malformedInputStopsTheDirection() {
        #expect(Self.statuses(Self.run([(true, "GET /x HTTP/1.1\r\nno colon here\r\n\r\nGET /y HTTP/1.1\r\n\r\n")]))
                == ["problem \(HTTP1Problem.badHeaderLine("no colon here"))"])
        #expect(Self.statuses(Self.run([(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")]))
                == ["problem \(HTTP1Problem.badChunk)"])
        let long = "GET /" + String(repeating: "a", count: HTTP1Connection.headLimit) + " HTTP/1.1\r\n\r\n"
        #expect(Self.statuses(Self.run([(true, long)], chunk: 1000))
                == ["problem \(HTTP1Problem.headTooLong(limit: HTTP1Connection.headLimit))"])
    }

    @Test func obsoleteLineFoldingAndContentLengthRules() throws {
        let head = try Array("HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 5, 5\r\n".utf8)
            .withUnsafeBytes { raw throws(HTTP1Problem) in try HTTP1Head.decode(raw.bytes) }
        #expect(head.field("x-long") == "a b")
        #expect(head.contentLength == .length(5))
        let bad = try Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n".utf8)
            .withUnsafeBytes { raw throws(HTTP1Problem) in try HTTP1Head.decode(raw.bytes) }
        #expect(bad.contentLength == .invalid)
    }

    @Test func gapDropsTheMessageAndResyncs() {
        var connection = HTTP1Connection()
        var out: [HTTP1Message] = []
        func feed(_ fromClient: Bool, _ text: String) {
            Array(text.utf8).withUnsafeBytes { raw in
                connection.consume(fromClient: fromClient, raw.bytes, frame: 1, time: 0) { out.append($0) }
            }
        }
        feed(true, "GET /a HTTP/1.1\r\n\r\n")
        feed(false, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        connection.gap(fromClient: false)
        feed(false, "more body that is not a message")
        feed(true, "GET /b HTTP/1.1\r\n\r\n")
        feed(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        #expect(Self.statuses(out) == ["GET /a 0", "GET /b 0", "404 0 <- /b"])
    }
}
