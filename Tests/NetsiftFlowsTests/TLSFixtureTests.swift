import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// The project's TLS fixtures through the whole pipeline, against what the tools that made the
/// traffic said (`facts.json`: curl -v and openssl s_client on the client, the server's log).
@Suite struct TLSFixtureTests {
    struct Observed {
        var clientHellos: [TLSClientHello] = []
        var serverHellos: [TLSServerHello] = []
        /// Alerts the server sent.
        var serverAlerts: [TLSAlert] = []
    }

    /// What the pipeline said about TLS, per client port, and the fixture's connections.
    func observe(_ fixture: String) throws -> (connections: [[String: Any]], byPort: [Int: Observed]) {
        let folder = Corpus.fixturesDirectory.appendingPathComponent(fixture)
        let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("facts.json")))
        var byPort: [Int: Observed] = [:]
        for event in try PipelineRun(path: folder.appendingPathComponent("\(fixture).pcap").path).events {
            guard case .tls(let message) = event.message else { continue }
            let port = Int(event.context.fromClient ? event.context.source.port : event.context.destination.port)
            switch message {
            case .clientHello(let hello): byPort[port, default: Observed()].clientHellos.append(hello)
            case .serverHello(let hello): byPort[port, default: Observed()].serverHellos.append(hello)
            case .alert(let alert) where !event.context.fromClient: byPort[port, default: Observed()].serverAlerts.append(alert)
            default: break
            }
        }
        return ((facts as? [String: Any])?["tls_connections"] as? [[String: Any]] ?? [], byPort)
    }

    /// IANA code points of the names the tools print (RFC 8446 §B.4; RFC 5289 for the ECDHE suite
    /// OpenSSL calls ECDHE-RSA-AES256-GCM-SHA384).
    static let cipherSuites: [String: UInt16] = ["TLS_AES_256_GCM_SHA384": 0x1302, "ECDHE-RSA-AES256-GCM-SHA384": 0xC030]
    static let versions: [String: UInt16] = ["TLSv1.3": 0x0304, "TLSv1.2": 0x0303]

    /// curl and openssl s_client against a TLS 1.2/1.3 server: SNI and ALPN offered, then the
    /// version and cipher the client reported, and the ALPN chosen when the ServerHello carries it
    /// (TLS 1.2; in TLS 1.3 it is in the encrypted EncryptedExtensions).
    @Test func successfulHandshakes() throws {
        let (connections, byPort) = try observe("tls-handshakes")
        #expect(connections.count == 6)
        for connection in connections {
            let port = try #require(connection["client_port"] as? Int)
            let seen = byPort[port] ?? Observed()
            let hello = try #require(seen.clientHellos.first, "port \(port): no ClientHello")
            #expect(seen.clientHellos.count == 1)
            #expect(hello.serverName == connection["sni"] as? String, "port \(port)")
            #expect(hello.alpn == connection["alpn_offered"] as? [String], "port \(port)")
            let server = try #require(seen.serverHellos.first, "port \(port): no ServerHello")
            let version = try #require(Self.versions[connection["tls_version"] as? String ?? ""])
            #expect(server.negotiatedVersion == version, "port \(port)")
            #expect(server.cipherSuite == Self.cipherSuites[connection["cipher"] as? String ?? ""], "port \(port)")
            if version == 0x0303 {
                #expect(server.alpn == connection["alpn"] as? String, "port \(port)")
            }
            let cleartextAlerts = seen.serverAlerts.filter { !$0.encrypted }
            #expect(cleartextAlerts.isEmpty, "port \(port)")
        }
    }

    /// Handshakes that fail: the alert the client received, or no ServerHello at all when the
    /// server closed or reset the connection after reading the ClientHello.
    @Test func failedHandshakes() throws {
        let (connections, byPort) = try observe("tls-failures")
        #expect(connections.count == 4)
        for connection in connections {
            let port = try #require(connection["client_port"] as? Int)
            let seen = byPort[port] ?? Observed()
            let hello = try #require(seen.clientHellos.first, "port \(port): no ClientHello")
            #expect(hello.serverName == connection["sni"] as? String, "port \(port)")
            #expect(seen.serverHellos.isEmpty, "port \(port)")
            if let description = connection["client_alert_received"] as? Int {
                #expect(seen.serverAlerts == [TLSAlert(level: 2, description: UInt8(description), encrypted: false)],
                        "port \(port)")
            } else {
                #expect(seen.serverAlerts.isEmpty, "port \(port)")
            }
        }
    }

    /// Stapled OCSP responses made by openssl ocsp: what the CertificateStatus messages carry
    /// equals what `openssl ocsp -resp_text` printed of each response (facts.json).
    @Test func stapledOCSPResponsesAsOpenSSLPrintedThem() throws {
        let folder = Corpus.fixturesDirectory.appendingPathComponent("tls-ocsp")
        let facts = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any])
        let connections = try #require(facts["tls_connections"] as? [[String: Any]])
        var byPort: [Int: TLSOCSPResponse] = [:]
        for event in try PipelineRun(path: folder.appendingPathComponent("tls-ocsp.pcap").path).events {
            guard case .tls(.handshake(let handshake)) = event.message, let response = handshake.ocspResponse else { continue }
            byPort[Int(event.context.destination.port)] = response
        }
        #expect(byPort.count == connections.count)
        #expect(connections.contains { ($0["ocsp"] as? [String: Any])?["revocation_reason"] is String }, "a revoked case")
        /// "Dec  7 23:20:18 2026 GMT", as openssl prints times, in seconds since 1970 (Foundation's
        /// date parsing: independent of the civil-date code the OCSP reader uses).
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        func seconds(_ text: Any?) -> Int64? {
            guard let text = text as? String else { return nil }
            return formatter.date(from: text.split(separator: " ").joined(separator: " ")).map { Int64($0.timeIntervalSince1970) }
        }
        for connection in connections {
            let ocsp = try #require(connection["ocsp"] as? [String: Any])
            let port = try #require(connection["client_port"] as? Int)
            let response = try #require(byPort[port])
            #expect(response.responseStatus == ocsp["response_status"] as? String)
            let status = try #require(response.statuses.first)
            #expect(status.status == ocsp["cert_status"] as? String)
            #expect(status.serialNumber.replacingOccurrences(of: ":", with: "").uppercased() == ocsp["serial_number"] as? String)
            #expect(status.thisUpdate == seconds(ocsp["this_update"]))
            #expect(status.nextUpdate == seconds(ocsp["next_update"]))
            #expect(response.producedAt == seconds(ocsp["produced_at"]))
            #expect(status.revocationTime == seconds(ocsp["revocation_time"]))
            // openssl: "keyCompromise (0x1)".
            #expect(status.revocationReason == (ocsp["revocation_reason"] as? String)?.split(separator: " ").first.map(String.init))
            // …and its code in parentheses, "(0x1)".
            let reasonText = (ocsp["revocation_reason"] as? String)?.split(separator: "(").last
            let code: Int? = reasonText.flatMap { Int($0.dropFirst(2).dropLast(), radix: 16) }
            #expect(status.revocationReasonCode == code)
        }
    }
}
