/// Counts and words in agreement, for every sentence a finding, a report or a command says: "1
/// stream was reset", "3 queries were", never "querys" or "1 stream … were". It lives in the first
/// module every other one imports, so that there is one of it.

/// "1 stream", "3 queries", "1,000,000 SYNs": the count, grouped by thousands, and its noun, the
/// last word made plural when the count is not one.
public func plural(_ count: Int, _ noun: String) -> String {
    "\(grouped(count)) \(count == 1 ? noun : pluralForm(of: noun))"
}

/// 1234567 -> "1,234,567": every count in text output is written this way, summaries and
/// findings alike.
public func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}

/// The verb `singular` ("was", "is", "has", "does") agreeing with `count`: "were", "are", "have",
/// "do" when it is not one. Other verbs are returned as given (the report's sentences use these).
public func verb(_ count: Int, _ singular: String) -> String {
    guard count != 1 else { return singular }
    switch singular {
    case "was": return "were"
    case "is": return "are"
    case "has": return "have"
    case "does": return "do"
    default: return singular
    }
}

/// The plural of a noun or noun phrase ("connection attempt" → "connection attempts"): only the
/// last word changes. Irregular nouns come from a table; acronyms in capitals take a bare "s"
/// ("SYNs"); the rest follow English spelling rules (query → queries, address → addresses).
public func pluralForm(of noun: String) -> String {
    let start = noun.lastIndex(of: " ").map { noun.index(after: $0) } ?? noun.startIndex
    let head = noun[..<start], word = String(noun[start...])
    return head + pluralWord(word)
}

private let irregularPlurals: [String: String] = [
    "child": "children", "person": "people", "man": "men", "woman": "women", "mouse": "mice",
    "analysis": "analyses", "datum": "data", "criterion": "criteria", "series": "series", "index": "indices",
]

private func pluralWord(_ word: String) -> String {
    guard !word.isEmpty else { return word }
    if let irregular = irregularPlurals[word.lowercased()] {
        // Keep a capital first letter: "Person" → "People".
        return word.first!.isUppercase ? irregular.prefix(1).uppercased() + irregular.dropFirst() : irregular
    }
    if word.count > 1 && word.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "/" }) { return word + "s" }
    let lower = word.lowercased()
    if lower.hasSuffix("y"), word.count > 1, !"aeiou".contains(lower.dropLast().last!) {
        return word.dropLast() + "ies"
    }
    if lower.hasSuffix("s") || lower.hasSuffix("x") || lower.hasSuffix("z") || lower.hasSuffix("ch") || lower.hasSuffix("sh") {
        return word + "es"
    }
    return word + "s"
}
