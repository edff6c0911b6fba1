import NetsiftDissect
import NetsiftFlows

/// What is wrong with the certificate chains servers sent in cleartext (TLS 1.2 and earlier), judged
/// at the time of the capture: expired or not yet valid, expiring soon, the client's SNI not
/// among the names, self-signed, an incomplete chain, weak signatures or keys. Each problem is
/// grouped per server and certificate, with the SNIs, the conversations, and the alert the client
/// sent next when it did (`certificate_expired`, `unknown_ca`, `bad_certificate`, …).
struct CertificateDetector {
    /// A connection's handshake until its conversation ends: the client's SNI, the server's chain,
    /// and the first cleartext alert after the chain.
    struct Handshake {
        var server: Endpoint
        var client: Endpoint
        var serverName: String?
        var chain: [TLSCertificate] = []
        var chainFrame = 0
        var chainTime: Int64 = 0
        var alert: (description: UInt8, frame: Int)?
        /// The OCSP response the server stapled (CertificateStatus), and its frame.
        var ocsp: TLSOCSPResponse?
        var ocspFrame = 0
    }
    var handshakes: [Int: Handshake] = [:]
    /// TLS 1.3 handshakes, whose certificates travel encrypted, and their servers (bounded): said
    /// once in the report, not once per connection.
    var encryptedHandshakes = 0
    var encryptedServers: [String] = []
    var encryptedFrames: [Int] = []

    /// One problem's occurrences, grouped per server, kind and certificate.
    struct Group {
        var kind: FindingKind
        var severity: Severity
        var server: String
        var certificate: TLSCertificate
        var position: Int
        var chainLength: Int
        /// The capture time of the first occurrence (seconds), to say how long ago / how soon.
        var seenAt: Int64
        var count = 0
        var flows: [FlowReference] = []
        var frames: [Int] = []
        var peers: [String] = []
        var names: Set<String> = []
        var alerts: [String: Int] = [:]
        /// For the OCSP findings: the stapled status of the certificate and the response's time.
        var ocsp: TLSOCSPResponse.Status?
        var ocspProducedAt: Int64?
    }
    var groups: [String: Group] = [:]

    /// A certificate expiring within this many days is a warning; within `infoDays`, information.
    static let warningDays: Int64 = 14
    static let infoDays: Int64 = 30

    mutating func add(_ message: TLSMessage, context: ApplicationContext) {
        let stream = context.stream
        switch message {
        case .clientHello(let hello) where context.fromClient:
            if handshakes[stream] == nil {
                handshakes[stream] = Handshake(server: context.destination, client: context.source)
            }
            if handshakes[stream]!.serverName == nil { handshakes[stream]!.serverName = hello.serverName }
        case .handshake(let handshake) where !context.fromClient && handshake.type == 11:
            addChain(handshake.certificates ?? [], context: context)
        case .handshake(let handshake) where !context.fromClient && handshake.type == 22:
            guard let response = handshake.ocspResponse, handshakes[stream] != nil,
                  handshakes[stream]!.ocsp == nil else { return }
            handshakes[stream]!.ocsp = response
            handshakes[stream]!.ocspFrame = context.frame
        case .serverHello(let hello) where !context.fromClient && hello.negotiatesTLS13:
            encryptedHandshakes += 1
            encryptedServers.addPeer(context.source)
            if encryptedFrames.count < Finding.listLimit { encryptedFrames.append(context.frame) }
        case .sslv2(let record) where !context.fromClient:
            addChain(record.certificates ?? [], context: context)   // an SSL 2.0 SERVER-HELLO
        case .alert(let alert) where context.fromClient:
            guard let description = alert.description, !alert.encrypted,
                  let handshake = handshakes[stream], !handshake.chain.isEmpty, handshake.alert == nil else { return }
            handshakes[stream]!.alert = (description, context.frame)
        default:
            break
        }
    }

    mutating func addChain(_ certificates: [TLSCertificate], context: ApplicationContext) {
        guard !certificates.isEmpty else { return }
        let stream = context.stream
        if handshakes[stream] == nil {
            handshakes[stream] = Handshake(server: context.source, client: context.destination)
        }
        guard handshakes[stream]!.chain.isEmpty else { return }
        handshakes[stream]!.chain = certificates
        handshakes[stream]!.chainFrame = context.frame
        handshakes[stream]!.chainTime = context.time
    }

    /// The conversation is over: judge the chain its server sent.
    mutating func finished(_ conversation: TCPConversation) {
        guard let h = handshakes.removeValue(forKey: conversation.stream), !h.chain.isEmpty else { return }
        let seconds = h.chainTime / 1_000_000_000
        for var problem in Self.problems(h.chain, at: seconds, serverName: h.serverName, ocsp: h.ocsp) {
            if problem.kind == .tlsCertificateSelfSigned && h.alert != nil { problem.severity = .warning }
            let certificate = h.chain[problem.position]
            let server = "\(h.server)"
            let key = groups.bounded(server, detail: "\t\(problem.kind.rawValue)\t\(certificate.serialNumber)\t\(problem.position)")
            if groups[key] == nil {
                groups[key] = Group(kind: problem.kind, severity: problem.severity,
                                    server: key.hasPrefix(Finding.otherEndpoints) ? Finding.otherEndpoints : server,
                                    certificate: certificate, position: problem.position, chainLength: h.chain.count,
                                    seenAt: seconds)
                groups[key]!.ocsp = problem.ocsp
                groups[key]!.ocspProducedAt = h.ocsp?.producedAt
            }
            if problem.ocsp != nil, groups[key]!.frames.count < Finding.listLimit { groups[key]!.frames.append(h.ocspFrame) }
            groups[key]!.count += 1
            groups[key]!.severity = max(groups[key]!.severity, problem.severity)
            if groups[key]!.flows.count < Finding.listLimit { groups[key]!.flows.append(conversation.reference) }
            if groups[key]!.frames.count < Finding.listLimit { groups[key]!.frames.append(h.chainFrame) }
            if let alert = h.alert {
                groups[key]!.alerts[TLSNames.alertDescription(alert.description), default: 0] += 1
                if groups[key]!.frames.count < Finding.listLimit { groups[key]!.frames.append(alert.frame) }
            }
            groups[key]!.peers.addPeer(h.client)
            if let name = h.serverName, groups[key]!.names.count < 10 { groups[key]!.names.insert(name) }
        }
    }

    struct Problem: Equatable {
        var kind: FindingKind
        var severity: Severity
        /// The certificate's index in the chain (0: the leaf).
        var position: Int
        /// The stapled OCSP status the problem comes from.
        var ocsp: TLSOCSPResponse.Status? = nil
    }

    /// What is wrong with `chain` (leaf first) at `time` (seconds since 1970) for a client that
    /// asked for `serverName`.
    static func problems(_ chain: [TLSCertificate], at time: Int64, serverName: String?,
                         ocsp: TLSOCSPResponse? = nil) -> [Problem] {
        var out: [Problem] = []
        for (index, certificate) in chain.enumerated() {
            // What the stapled OCSP response says about this certificate (matched by serial number).
            if let status = ocsp?.statuses.first(where: { $0.serialNumber == certificate.serialNumber }) {
                if status.status == "revoked" {
                    out.append(Problem(kind: .tlsCertificateRevoked, severity: .error, position: index, ocsp: status))
                } else if let next = status.nextUpdate, time > next {
                    out.append(Problem(kind: .tlsOCSPResponseStale, severity: .warning, position: index, ocsp: status))
                }
            }
            if time > certificate.notAfter {
                out.append(Problem(kind: .tlsCertificateExpired, severity: .error, position: index))
            } else if time < certificate.notBefore {
                out.append(Problem(kind: .tlsCertificateNotYetValid, severity: .error, position: index))
            } else if certificate.notAfter - time <= infoDays * 86_400 {
                let soon = certificate.notAfter - time <= warningDays * 86_400
                out.append(Problem(kind: .tlsCertificateExpiring, severity: soon ? .warning : .info, position: index))
            }
            // A root's own signature is never checked, nor that of the chain's last certificate
            // when clients hold it as a trust anchor (a cross-signed root): only the others count.
            let signatureChecked = !certificate.isSelfIssued && (index < chain.count - 1 || chain.count == 1)
            if certificate.hasWeakKey || (certificate.hasWeakSignature && signatureChecked) {
                out.append(Problem(kind: .tlsCertificateWeak, severity: .warning, position: index))
            }
        }
        let leaf = chain[0]
        if let serverName, !serverName.isEmpty, !leaf.matches(hostName: serverName) {
            out.append(Problem(kind: .tlsCertificateNameMismatch, severity: .error, position: 0))
        }
        if leaf.isSelfIssued {
            // Information when the client went on (an internal service, a pinned certificate); the
            // finding is raised to a warning when the client answered with an alert (`finished`).
            out.append(Problem(kind: .tlsCertificateSelfSigned, severity: .info, position: 0))
        } else if let missing = missingIssuer(chain) {
            out.append(Problem(kind: .tlsCertificateChainIncomplete, severity: .warning, position: missing))
        }
        return out
    }

    /// The first certificate whose issuer the chain should hold and does not: any but the last
    /// (whose issuer is a root, which servers rightly leave out), and the leaf when it is alone
    /// (a lone leaf not signed by itself is the classic missing intermediate).
    static func missingIssuer(_ chain: [TLSCertificate]) -> Int? {
        let subjects = chain.map(\.subject)
        for (index, certificate) in chain.enumerated() where !certificate.isSelfIssued {
            if index == chain.count - 1 && chain.count > 1 { break }
            if !subjects.contains(certificate.issuer) { return index }
        }
        return nil
    }

    /// In the order of their keys: a server may have several findings of one kind (one per
    /// certificate), which the report's ordering does not tell apart.
    func findings() -> [Finding] {
        var out = groups.sorted { $0.key < $1.key }.map { finding($0.value) }
        if encryptedHandshakes > 0 {
            let servers = encryptedServers.count
            out.append(Finding(
                kind: .tlsCertificatesEncrypted, severity: .info, peers: encryptedServers, count: encryptedHandshakes,
                countUnit: "handshakes", frames: encryptedFrames, facts: ["servers": .int(servers)],
                summary: "\(plural(encryptedHandshakes, "TLS 1.3 handshake")) with \(plural(servers, "server")) (\(encryptedServers.prefix(5).joined(separator: ", "))\(servers > 5 ? ", …" : "")) sent their certificates encrypted: the certificate checks cover TLS 1.2 and earlier only.",
                explanation: "TLS 1.3 encrypts everything after the ServerHello, the Certificate message included, so a capture cannot show those chains, their dates or names.",
                likelyCause: "TLS 1.3, as negotiated by current clients and servers: nothing wrong.",
                nextStep: "To check those certificates, ask the servers directly: `openssl s_client -connect HOST:PORT -servername NAME -showcerts` (or capture with the session keys: SSLKEYLOGFILE)."))
        }
        return out
    }

    func finding(_ g: Group) -> Finding {
        let c = g.certificate
        let who = c.subjectCommonName ?? TLSCertificate.text(c.subject)
        let position = g.position == 0 ? "leaf certificate" : "certificate \(g.position) of the chain"
        let names = g.names.sorted()
        let sni = names.isEmpty ? "" : " (SNI \(names.joined(separator: ", ")))"
        let alertText = g.alerts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", ")
        var facts: [String: FactValue] = [
            "subject": .string(TLSCertificate.text(c.subject)), "issuer": .string(TLSCertificate.text(c.issuer)),
            "serial_number": .string(c.serialNumber), "not_before": .string(UTCTimestamp.iso(c.notBefore)),
            "not_after": .string(UTCTimestamp.iso(c.notAfter)), "chain_index": .int(g.position),
            "chain_length": .int(g.chainLength), "capture_time": .string(UTCTimestamp.iso(g.seenAt)),
        ]
        if !names.isEmpty { facts["server_names"] = .string(names.joined(separator: ", ")) }
        if !c.dnsNames.isEmpty { facts["dns_names"] = .string(c.dnsNames.prefix(20).joined(separator: ", ")) }
        if !alertText.isEmpty { facts["client_alerts"] = .string(alertText) }
        let alertClause = alertText.isEmpty ? "" : "; the client then sent \(alertText)"
        let check = "`openssl s_client -connect \(g.server)\(names.first.map { " -servername \($0)" } ?? "") -showcerts`"
        let handshakes = plural(g.count, "handshake")
        let days = { (seconds: Int64) in (seconds + 43_200) / 86_400 }   // to the nearest day
        // Every kind's finding but its words (the facts as each case leaves them).
        func finding(summary: String, explanation: String, likelyCause: String, nextStep: String) -> Finding {
            Finding(kind: g.kind, severity: g.severity, endpoint: g.server, peers: g.peers, count: g.count,
                    countUnit: "handshakes", flows: g.flows, frames: g.frames, facts: facts, summary: summary,
                    explanation: explanation, likelyCause: likelyCause, nextStep: nextStep)
        }

        if let status = g.ocsp {
            facts["ocsp_status"] = .string(status.status)
            facts["ocsp_this_update"] = .string(UTCTimestamp.iso(status.thisUpdate))
            if let next = status.nextUpdate { facts["ocsp_next_update"] = .string(UTCTimestamp.iso(next)) }
            if let time = status.revocationTime { facts["revocation_time"] = .string(UTCTimestamp.iso(time)) }
            if let reason = status.revocationReason { facts["revocation_reason"] = .string(reason) }
            if let produced = g.ocspProducedAt { facts["ocsp_produced_at"] = .string(UTCTimestamp.iso(produced)) }
        }

        switch g.kind {
        case .tlsCertificateRevoked:
            let reason = g.ocsp?.revocationReason.map { " (\($0))" } ?? ""
            let when = g.ocsp?.revocationTime.map { " on \(UTCTimestamp.iso($0))" } ?? ""
            return finding(
                summary: "\(g.server) stapled an OCSP response saying its \(position) \(who) was revoked\(when)\(reason), in \(handshakes)\(sni)\(alertClause).",
                explanation: "The CA's responder says the certificate must no longer be trusted; clients that check the stapled status refuse it (Firefox: SEC_ERROR_REVOKED_CERTIFICATE; OpenSSL: certificate revoked).",
                likelyCause: "The certificate was revoked (a compromised key, a reissue) and the server still serves the old one: the new certificate was never deployed, or the server was not reloaded.",
                nextStep: "Deploy the replacement certificate and reload the server; confirm with \(check.dropLast()) -status` (OCSP Response Status and Cert Status).")
        case .tlsOCSPResponseStale:
            let next = g.ocsp?.nextUpdate.map { UTCTimestamp.iso($0) } ?? "?"
            facts["days_stale"] = .int(Int(days(g.seenAt - (g.ocsp?.nextUpdate ?? g.seenAt))))
            return finding(
                summary: "\(g.server) stapled a stale OCSP response for its \(position) \(who): next update \(next), \(plural(Int(days(g.seenAt - (g.ocsp?.nextUpdate ?? g.seenAt))), "day")) before the capture, in \(handshakes)\(sni)\(alertClause).",
                explanation: "An OCSP response is good until its nextUpdate; after it clients ignore the staple (and fetch the status themselves, slowly) or, with Must-Staple, refuse the connection.",
                likelyCause: "The server stopped refreshing its staple: it cannot reach the CA's OCSP responder (egress firewall, DNS, proxy), or a staple file (ssl_stapling_file, -status_file) is updated by hand.",
                nextStep: "Check the server's stapling logs and its access to the responder (`openssl ocsp -issuer CA.pem -cert CERT.pem -url URL`); confirm with \(check.dropLast()) -status`.")
        case .tlsCertificateExpired:
            facts["days_expired"] = .int(Int(days(g.seenAt - c.notAfter)))
            return finding(
                summary: "\(g.server) sent an expired \(position) \(who) (expired \(UTCTimestamp.iso(c.notAfter)), \(plural(Int(days(g.seenAt - c.notAfter)), "day")) before the capture) in \(handshakes)\(sni)\(alertClause).",
                explanation: "Clients refuse a certificate past its notAfter date (browsers: NET::ERR_CERT_DATE_INVALID; OpenSSL: certificate has expired).",
                likelyCause: g.position == 0
                    ? "The renewal job failed or did not run (certbot / cert-manager / ACME), or the new certificate was issued but the server was never reloaded."
                    : "The server bundles an old intermediate: the CA renewed it and the chain file was not updated.",
                nextStep: "Check with \(check) and `openssl x509 -noout -dates`; renew the certificate (or update the chain file) and reload the server.")
        case .tlsCertificateNotYetValid:
            return finding(
                summary: "\(g.server) sent a \(position) \(who) not valid until \(UTCTimestamp.iso(c.notBefore)), after the capture's time, in \(handshakes)\(sni)\(alertClause).",
                explanation: "Clients refuse a certificate before its notBefore date.",
                likelyCause: "A clock wrong on the client (or on the machine that captured), or a certificate issued with a future start date.",
                nextStep: "Check the clocks (`timedatectl`, NTP) and the certificate's dates with \(check).")
        case .tlsCertificateExpiring:
            let left = days(c.notAfter - g.seenAt)
            facts["days_left"] = .int(Int(left))
            return finding(
                summary: "\(g.server)'s \(position) \(who) expires \(UTCTimestamp.iso(c.notAfter)), \(plural(Int(left), "day")) after the capture\(sni).",
                explanation: "It is still valid, but clients will refuse it once it expires.",
                likelyCause: "Automatic renewal is not running, or renews too close to the deadline.",
                nextStep: "Renew it now and check the renewal job (certbot renew --dry-run, cert-manager's Certificate status); confirm with \(check).")
        case .tlsCertificateNameMismatch:
            facts["common_name"] = c.subjectCommonName.map { .string($0) }
            return finding(
                summary: "\(g.server) answered \(names.isEmpty ? "the client's SNI" : names.joined(separator: ", ")) with a certificate for \(c.dnsNames.isEmpty ? who : c.dnsNames.prefix(5).joined(separator: ", ")) in \(handshakes)\(alertClause).",
                explanation: "The name the client asked for (SNI) matches none of the certificate's names under RFC 6125 (a wildcard covers exactly one left-most label).",
                likelyCause: "The wrong certificate on a virtual host (a default server answering an unknown SNI), a name missing from the certificate's SANs (www. vs the bare domain), or a client using an address or name the certificate was never issued for.",
                nextStep: "Compare with \(check); add the name to the certificate's SANs or fix the server's SNI / virtual-host mapping.")
        case .tlsCertificateSelfSigned:
            return finding(
                summary: "\(g.server) sent a self-signed certificate \(who) in \(handshakes)\(sni)\(alertClause).",
                explanation: "No public CA vouches for it: clients that do not pin or trust it explicitly refuse it (unknown_ca / self-signed certificate).",
                likelyCause: "A default or test certificate left in place, or an internal service whose clients lack the private CA.",
                nextStep: "Install a certificate from a CA the clients trust, or distribute this one to them; inspect with \(check).")
        case .tlsCertificateChainIncomplete:
            let issuer = c.issuerCommonName ?? TLSCertificate.text(c.issuer)
            facts["missing_issuer"] = .string(TLSCertificate.text(c.issuer))
            return finding(
                summary: "\(g.server) sent a chain of \(g.chainLength) without \(issuer), the issuer of its \(position) \(who), in \(handshakes)\(sni)\(alertClause).",
                explanation: "Clients that do not already hold that intermediate cannot build a path to a trusted root (unknown_ca, unable to get local issuer certificate); browsers that cache intermediates hide the problem.",
                likelyCause: "The intermediate certificate is not configured: the server serves cert.pem instead of fullchain.pem (nginx ssl_certificate, Apache SSLCertificateChainFile), unless \(issuer) is a root clients trust directly.",
                nextStep: "Check with \(check) (it says `unable to get local issuer certificate`); serve the full chain, leaf first then the intermediates.")
        default:   // .tlsCertificateWeak
            var reasons: [String] = []
            if c.hasWeakSignature && !c.isSelfIssued && (g.position < g.chainLength - 1 || g.chainLength == 1) {
                reasons.append("signed with \(c.signatureAlgorithm)")
            }
            if c.hasWeakKey { reasons.append("a \(c.publicKeyBits ?? 0)-bit \(c.publicKeyAlgorithm.uppercased()) key") }
            facts["signature_algorithm"] = .string(c.signatureAlgorithm)
            facts["public_key"] = .string(c.publicKeyAlgorithm + (c.publicKeyBits.map { " \($0)" } ?? ""))
            return Finding(
                kind: .tlsCertificateWeak, severity: g.severity, endpoint: g.server, peers: g.peers, count: g.count,
                countUnit: "handshakes", flows: g.flows, frames: g.frames, facts: facts,
                summary: "\(g.server)'s \(position) \(who) is weak: \(reasons.joined(separator: " and ")) (\(handshakes)\(sni)).",
                explanation: "MD5 and SHA-1 signatures can be forged by collision, and RSA keys under 2048 bits are within reach of factoring; current clients refuse both.",
                likelyCause: "An old certificate or CA never reissued, or a key generated with outdated defaults.",
                nextStep: "Reissue with a SHA-256 signature and an RSA 2048+ or ECDSA P-256 key; inspect with \(check).")
        }
    }
}

extension TLSCertificate {
    /// RFC 6125 §6.4: the DNS names of the subject alternative names (the common name only when
    /// there are none), compared case-insensitively without a trailing dot; a wildcard is a whole
    /// left-most label `*` that stands for exactly one label (`*.example.com` covers
    /// `a.example.com`, not `example.com` nor `a.b.example.com`). An IP address SNI (not allowed by
    /// RFC 6066, yet sent) matches an iPAddress name.
    func matches(hostName: String) -> Bool {
        let host = Self.normalized(hostName)
        if ipAddresses.contains(host) { return true }
        let names = dnsNames.isEmpty ? subject.filter { $0.oid == "2.5.4.3" }.map(\.value) : dnsNames
        return names.contains { Self.nameMatches(Self.normalized($0), host) }
    }

    static func normalized(_ name: String) -> String {
        var lower = name.lowercased()
        if lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }

    static func nameMatches(_ pattern: String, _ host: String) -> Bool {
        guard pattern.hasPrefix("*.") else { return pattern == host }
        let suffix = pattern.dropFirst(1)   // ".example.com"
        // The wildcard must sit above at least two labels (no "*.com").
        guard suffix.dropFirst().contains("."), host.hasSuffix(suffix) else { return false }
        let label = host.dropLast(suffix.count)
        return !label.isEmpty && !label.contains(".")
    }
}
