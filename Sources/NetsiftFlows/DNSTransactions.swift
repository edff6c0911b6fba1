import NetsiftDissect

/// One DNS exchange as `DNSTransactions` saw it: a query and its response, a query nobody
/// answered, or a response whose query was not captured.
public struct DNSTransaction: Sendable, Equatable, Encodable {
    public enum Outcome: String, Sendable, Encodable {
        case answered
        /// No response within the timeout, or by the end of the capture.
        case unanswered
        /// Unanswered as far as we know: pushed out by the limit on outstanding queries first.
        case evicted
        /// A response whose query was not captured (or came after the query had timed out).
        case responseOnly = "response_only"
    }

    public var client: Endpoint
    public var server: Endpoint
    public var transport: Transport
    public var id: UInt16
    /// The first question (the query's, or the response's when the query is missing).
    public var question: DNSQuestion?
    public var outcome: Outcome
    public var queryFrame: Int?
    public var queryTime: Int64?
    /// Copies of the query sent before the response, the first included (retransmissions + 1).
    public var queryCount = 0
    public var responseFrame: Int?
    public var responseTime: Int64?
    /// The response code, EDNS's extension included (`DNSMessage.responseCode`).
    public var responseCode: UInt16?
    public var answerCount: Int?
    /// The response had TC set: the answer did not fit.
    public var truncated = false
    /// For a truncated answer over UDP: whether the same question went between the same hosts over
    /// TCP within the timeout (RFC 7766 §5). nil when not a truncated UDP answer.
    public var retriedOverTCP: Bool?

    /// Nanoseconds from the first copy of the query to the response.
    public var latency: Int64? {
        guard let queryTime, let responseTime else { return nil }
        return responseTime &- queryTime   // wrapping: timestamps are the capture's word
    }

    enum CodingKeys: String, CodingKey {
        case client, server, transport, id, question, outcome, queryFrame, queryTime, queryCount, responseFrame,
             responseTime, latency, responseCode, responseCodeName, answerCount, truncated, retriedOverTCP
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(client.description, forKey: .client)
        try c.encode(server.description, forKey: .server)
        try c.encode(transport, forKey: .transport)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(question, forKey: .question)
        try c.encode(outcome, forKey: .outcome)
        try c.encodeIfPresent(queryFrame, forKey: .queryFrame)
        try c.encodeIfPresent(queryTime, forKey: .queryTime)
        try c.encode(queryCount, forKey: .queryCount)
        try c.encodeIfPresent(responseFrame, forKey: .responseFrame)
        try c.encodeIfPresent(responseTime, forKey: .responseTime)
        try c.encodeIfPresent(latency, forKey: .latency)
        try c.encodeIfPresent(responseCode, forKey: .responseCode)
        try c.encodeIfPresent(responseCode.map(DNSResponseCode.name), forKey: .responseCodeName)
        try c.encodeIfPresent(answerCount, forKey: .answerCount)
        try c.encode(truncated, forKey: .truncated)
        try c.encodeIfPresent(retriedOverTCP, forKey: .retriedOverTCP)
    }
}

/// Matches DNS queries with their responses by client and server endpoints, transport, ID and
/// question (the name compared without regard to ASCII case, RFC 4343), and hands out each
/// exchange once it is over: answered, unanswered after `timeout` of capture time (or at
/// `finish`), or a response without its query. A truncated UDP answer is held for another
/// `timeout` to see whether the client asks the same server the same question over TCP (a TCP
/// answer to it counts too, for captures that missed the query).
///
/// State, not history: only queries still waiting and truncated answers still watched are kept,
/// each table at most `maximumOutstanding` entries; a new entry beyond that pushes out the oldest
/// (reported as `.evicted`, counted in `evicted`). Unicast DNS only: mDNS and LLMNR queries are
/// multicast and answered from another address, so they are not matched.
public struct DNSTransactions: Sendable {
    public static let defaultTimeout: Int64 = 5_000_000_000
    public static let defaultMaximumOutstanding = 65_536
    /// Queries waiting under one client, server, transport and ID (or truncated answers watched
    /// for one question): past it the oldest is pushed out, counted as evicted. A flood reusing one
    /// ID for different names would otherwise pile them all under one key, each lookup a scan.
    public static let maximumPerKey = 16

    public let timeout: Int64
    public let maximumOutstanding: Int
    /// Queries and watched truncated answers pushed out by the limit.
    public private(set) var evicted = 0

    struct Exchange: Hashable, Sendable {
        var client: Endpoint
        var server: Endpoint
        var transport: Transport
        var id: UInt16
    }

    /// A question as matched: the name folded to lower case.
    struct QuestionKey: Hashable, Sendable {
        var name: String
        var type: UInt16
        var qclass: UInt16

        init?(_ question: DNSQuestion?) {
            guard let question else { return nil }
            name = question.name.description.lowercased()
            type = question.type
            qclass = question.qclass
        }
    }

    struct Retry: Hashable, Sendable {
        var client: IPAddress
        var server: IPAddress
        var question: QuestionKey?
    }

    var queries: TimedTable<Exchange, DNSTransaction>
    var truncatedAnswers: TimedTable<Retry, DNSTransaction>

    public init(timeout: Int64 = defaultTimeout, maximumOutstanding: Int = defaultMaximumOutstanding) {
        self.timeout = timeout
        self.maximumOutstanding = max(1, maximumOutstanding)
        queries = TimedTable()
        truncatedAnswers = TimedTable()
    }

    /// Queries waiting for their response.
    public var outstandingQueries: Int { queries.count }

    /// Adds one message seen at `frame` and `time` (nanoseconds), between `client` (who asks) and
    /// `server`. Exchanges that are over, this one or older ones whose time ran out, go to
    /// `finished`, oldest first.
    public mutating func add(_ message: DNSMessage, frame: Int, time: Int64, client: Endpoint, server: Endpoint,
                             transport: Transport, finished: (DNSTransaction) -> Void) {
        expire(now: time, finished: finished)
        guard message.flavor == .dns, message.problem?.section != .header else { return }
        let exchange = Exchange(client: client, server: server, transport: transport, id: message.header.id)
        let question = message.questions.first
        let key = QuestionKey(question)
        if transport == .tcp {
            // The same question between the same hosts over TCP after a truncated UDP answer is its
            // retry (the response is evidence enough when the capture missed the query).
            let retry = Retry(client: client.address, server: server.address, question: key)
            while var answer = truncatedAnswers.remove(retry, where: { _ in true }) {
                answer.retriedOverTCP = true
                finished(answer)
            }
        }
        if !message.header.isResponse {
            // A copy of a query still waiting is a retransmission.
            if queries.update(exchange, where: { QuestionKey($0.question) == key }, { $0.queryCount += 1 }) { return }
            // Room for it: among the queries with its ID, then among all.
            if queries.count(exchange) >= Self.maximumPerKey, var oldest = queries.remove(exchange, where: { _ in true }) {
                oldest.outcome = .evicted
                evicted += 1
                finished(oldest)
            }
            if queries.count >= maximumOutstanding, var oldest = queries.removeOldest() {
                oldest.outcome = .evicted
                evicted += 1
                finished(oldest)
            }
            var transaction = DNSTransaction(client: client, server: server, transport: transport,
                                             id: message.header.id, question: question, outcome: .unanswered)
            transaction.queryFrame = frame
            transaction.queryTime = time
            transaction.queryCount = 1
            queries.insert(transaction, key: exchange, time: time)
            return
        }
        // A response without a question (FORMERR, NOTIMP...) answers the oldest query with its ID.
        var transaction = queries.remove(exchange, where: { key == nil || QuestionKey($0.question) == key })
            ?? DNSTransaction(client: client, server: server, transport: transport, id: message.header.id,
                              question: question, outcome: .responseOnly)
        if transaction.outcome == .unanswered { transaction.outcome = .answered }
        transaction.responseFrame = frame
        transaction.responseTime = time
        transaction.responseCode = message.responseCode
        transaction.answerCount = message.header.answerCount
        transaction.truncated = message.header.truncated
        guard transaction.truncated && transport == .udp else {
            finished(transaction)
            return
        }
        transaction.retriedOverTCP = false
        let retry = Retry(client: client.address, server: server.address, question: QuestionKey(transaction.question))
        if truncatedAnswers.count(retry) >= Self.maximumPerKey, let oldest = truncatedAnswers.remove(retry, where: { _ in true }) {
            evicted += 1
            finished(oldest)
        }
        if truncatedAnswers.count >= maximumOutstanding, let oldest = truncatedAnswers.removeOldest() {
            evicted += 1
            finished(oldest)
        }
        truncatedAnswers.insert(transaction, key: retry, time: time)
    }

    /// Hands out what ran out of time by `now`: queries unanswered for longer than `timeout`,
    /// truncated answers not retried over TCP within it. `add` calls it; call it too when time
    /// passes without DNS traffic.
    public mutating func expire(now: Int64, finished: (DNSTransaction) -> Void) {
        // Wrapping: a hostile timestamp expires the wrong queries, never traps.
        while let transaction = queries.removeOldest(arrivedBefore: now &- timeout) { finished(transaction) }
        while let transaction = truncatedAnswers.removeOldest(arrivedBefore: now &- timeout) { finished(transaction) }
    }

    /// The end of the capture: every query still waiting is unanswered, every truncated answer
    /// still watched was not retried.
    public mutating func finish(_ finished: (DNSTransaction) -> Void) {
        while let transaction = queries.removeOldest() { finished(transaction) }
        while let transaction = truncatedAnswers.removeOldest() { finished(transaction) }
    }
}

/// Values under a key (a few at most share one), with their arrival order for expiring and
/// evicting the oldest. The arrival list keeps entries removed since (their serial no longer
/// present); they are skipped, and compacted away once they outnumber the live ones, so the list
/// never holds more than 2 x (2 x count + 1025) entries.
struct TimedTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var value: Value
        var serial: Int
    }

    var entries: [Key: [Entry]] = [:]
    var arrivals: [(key: Key, serial: Int, time: Int64)] = []
    var head = 0
    var nextSerial = 0
    private(set) var count = 0

    mutating func insert(_ value: Value, key: Key, time: Int64) {
        entries[key, default: []].append(Entry(value: value, serial: nextSerial))
        arrivals.append((key, nextSerial, time))
        nextSerial += 1
        count += 1
        if arrivals.count - head > 2 * count + 1024 { compact() }
    }

    /// Values under `key`.
    func count(_ key: Key) -> Int { entries[key]?.count ?? 0 }

    /// Changes the oldest value under `key` that `match` accepts; false when there is none.
    mutating func update(_ key: Key, where match: (Value) -> Bool, _ change: (inout Value) -> Void) -> Bool {
        guard let index = entries[key]?.firstIndex(where: { match($0.value) }) else { return false }
        change(&entries[key]![index].value)
        return true
    }

    /// Removes and returns the oldest value under `key` that `match` accepts.
    mutating func remove(_ key: Key, where match: (Value) -> Bool) -> Value? {
        // In place: a copy of the list taken out would be copied again by the removal.
        guard let index = entries[key]?.firstIndex(where: { match($0.value) }) else { return nil }
        let value = entries[key]!.remove(at: index).value
        if entries[key]!.isEmpty { entries[key] = nil }
        count -= 1
        return value
    }

    /// Removes and returns the oldest value, if it arrived before `limit` (any age when nil).
    mutating func removeOldest(arrivedBefore limit: Int64? = nil) -> Value? {
        defer { if head > 1024 && head * 2 > arrivals.count { compact() } }
        while head < arrivals.count {
            let arrival = arrivals[head]
            guard let index = entries[arrival.key]?.firstIndex(where: { $0.serial == arrival.serial }) else {
                head += 1
                continue
            }
            if let limit, arrival.time >= limit { return nil }
            head += 1
            let value = entries[arrival.key]!.remove(at: index).value
            if entries[arrival.key]!.isEmpty { entries[arrival.key] = nil }
            count -= 1
            return value
        }
        return nil
    }

    /// Drops the arrivals already consumed or removed.
    mutating func compact() {
        arrivals = arrivals[head...].filter { arrival in
            entries[arrival.key]?.contains { $0.serial == arrival.serial } ?? false
        }
        head = 0
    }
}
