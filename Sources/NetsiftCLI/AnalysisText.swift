import Netsift

/// The terminal rendering of an analysis: capture summary, findings layer by layer (worst first),
/// the most likely problem, and the top conversations.
enum AnalysisText {
    /// Findings shown per layer unless `all`: the worst, so that a large capture's report fits on
    /// a screen; the rest are counted ("and 3 more findings (--all)"), and JSON always holds every one.
    static let findingsPerLayer = 5

    static func render(_ report: AnalysisReport, colour: Bool, all: Bool = false) -> String {
        let style = Style(enabled: colour)
        var out = ""
        let c = report.capture
        out += style.bold("Capture") + "  \(c.file)\n"
        var facts = ["\(grouped(c.packets)) packets", "\(fixed(c.durationSeconds, 3)) s",
                     "\(grouped(c.tcpConversations)) TCP and \(grouped(c.udpConversations)) UDP conversations"]
        if !c.applicationMessages.isEmpty {
            facts.append(c.applicationMessages.sorted { $0.key < $1.key }.map { "\(grouped($0.value)) \($0.key)" }
                .joined(separator: ", ") + " messages")
        }
        out += "  " + facts.joined(separator: " · ") + "\n"
        if !c.tcpStates.isEmpty {
            out += "  TCP states: " + c.tcpStates.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", ") + "\n"
        }
        if let damage = c.damage { out += "  " + style.yellow("incomplete: \(damage)") + "\n" }
        out += "\n"

        if report.findings.isEmpty {
            out += style.green("No problems found.") + " Handshakes completed, no retransmissions, resets or stalls above the thresholds.\n\n"
        }
        for layer in DiagnosisLayer.allCases {
            let findings = report.findings.filter { $0.layer == layer }
            guard !findings.isEmpty else { continue }
            out += style.bold(layer.title) + "\n"
            let shown = all ? findings.count : min(findings.count, findingsPerLayer)
            for finding in findings.prefix(shown) {
                out += "  " + style.severity(finding.severity) + " " + finding.summary + "\n"
                out += "      " + style.dim("why:  ") + finding.likelyCause + "\n"
                out += "      " + style.dim("next: ") + finding.nextStep + "\n"
                var evidence: [String] = []
                if !finding.flows.isEmpty {
                    evidence.append("\(finding.flows.first!.transport).stream " + finding.flows.map { String($0.stream) }
                        .joined(separator: ",") + (finding.flows.count >= Finding.listLimit ? ",…" : ""))
                }
                if !finding.frames.isEmpty {
                    evidence.append("frames " + finding.frames.map(String.init).joined(separator: ","))
                }
                if !finding.facts.isEmpty {
                    evidence.append(finding.facts.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }
                        .joined(separator: " "))
                }
                if !evidence.isEmpty { out += "      " + style.dim("seen: " + evidence.joined(separator: "; ")) + "\n" }
                if let file = finding.evidence { out += "      " + style.dim("evidence: \(file)") + "\n" }
            }
            if shown < findings.count {
                let rest = findings.count - shown
                out += "  " + style.dim("and \(plural(rest, "more finding")) (--all)") + "\n"
            }
            out += "\n"
        }
        if let verdict = report.verdict {
            out += style.bold("Most likely problem") + "\n  " + verdict.summary + "\n  " + verdict.nextStep + "\n"
            if let caveat = report.verdictCaveat { out += "  " + style.yellow("Confidence lowered: " + caveat) + "\n" }
            out += "\n"
        }
        if !report.topFlows.isEmpty {
            out += style.bold("Top conversations") + "\n"
            for line in FlowTable.text(report.topFlows, counters: FlowCounters()).split(separator: "\n").dropLast() {
                out += "  " + line + "\n"
            }
        }
        return out
    }

    /// A fact as the report writes it: counts grouped by thousands like every number in the text.
    static func text(_ value: FactValue) -> String {
        if case .int(let n) = value { return grouped(n) }
        return value.description
    }

    /// ANSI styles, or nothing when colour is off.
    struct Style {
        let enabled: Bool
        func wrap(_ code: String, _ text: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func bold(_ text: String) -> String { wrap("1", text) }
        func dim(_ text: String) -> String { wrap("2", text) }
        func yellow(_ text: String) -> String { wrap("33", text) }
        func green(_ text: String) -> String { wrap("32", text) }
        func severity(_ severity: Severity) -> String {
            switch severity {
            case .error: wrap("1;31", "ERROR  ")
            case .warning: wrap("33", "WARNING")
            case .info: wrap("36", "INFO   ")
            }
        }
    }
}
