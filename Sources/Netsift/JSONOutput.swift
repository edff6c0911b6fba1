#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetsiftDissect

/// The one JSON convention of every document Netsift writes (docs/json.md): keys in snake_case
/// (`snakeCased`), enums as strings or `{"kind": …}` objects (`TaggedCase`), an optional value
/// absent when it has none (never null), keys sorted so that outputs compare line by line.
public enum JSONOutput {
    /// An encoder that writes the convention.
    public static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .custom { path in
            let key = path.last!
            return JSONKey(snakeCased(key.stringValue))
        }
        return encoder
    }

    /// `value` as JSON text in the convention.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool) throws -> String {
        String(decoding: try encoder(pretty: pretty).encode(value), as: UTF8.self)
    }

    /// A decoder for documents written in the convention, or in the camelCase of their first
    /// version (`netsift check`'s expectation files): a snake_case key among `names` (Swift
    /// property names) is read as that property; any other key is left as it is, so data keys
    /// (fact and threshold names, states, addresses) are never rewritten.
    public static func decoder(names: [String]) -> JSONDecoder {
        let properties = Dictionary(names.filter { snakeCased($0) != $0 }.map { (snakeCased($0), $0) },
                                    uniquingKeysWith: { first, _ in first })
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            let key = path.last!
            return JSONKey(properties[key.stringValue] ?? key.stringValue)
        }
        return decoder
    }
}
