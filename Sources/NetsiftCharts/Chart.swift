import Plot

/// A vertical extent at one x: a data segment in a time-sequence graph (its first and last
/// sequence number at the time it was sent), or a SACK block.
public struct Span: Sendable, Equatable {
    public var x: Double
    public var low: Double
    public var high: Double
    public init(x: Double, low: Double, high: Double) {
        self.x = x
        self.low = low
        self.high = high
    }
}

/// What a chart draws, each in one SVG path whose class the page's style sheet colours.
public enum Mark: Sendable {
    /// A polyline through points in x order (an ACK line, throughput).
    case line([Point], style: String)
    /// A line that holds its value until the next point (a receive window's edge).
    case steps([Point], style: String)
    /// Vertical strokes from low to high (data segments, SACK blocks).
    case spans([Span], style: String)
    /// Dots (retransmissions, resets, zero windows).
    case dots([Point], style: String)
    /// Columns up from zero, each `width` data units wide, starting at its point's x (counts per interval).
    case columns([Point], width: Double, style: String)

    var style: String {
        switch self {
        case .line(_, let style), .steps(_, let style), .spans(_, let style), .dots(_, let style),
             .columns(_, _, let style): style
        }
    }
}

/// A moment marked across the whole plot (a finding placed in time), with what it says on hover.
public struct Event: Sendable, Equatable {
    public var x: Double
    public var label: String
    public var detail: String
    public init(x: Double, label: String, detail: String) {
        self.x = x
        self.label = label
        self.detail = detail
    }
}

/// One chart: two linear axes with round ticks, marks drawn in data units, events, a legend. It
/// renders as inline SVG with no script and no external reference, sized by its `viewBox` so it
/// scales to the page and prints.
public struct Chart: Sendable {
    public var title: String
    public var x: ClosedRange<Double>
    public var y: ClosedRange<Double>
    public var xFormat: AxisFormat
    public var yFormat: AxisFormat
    public var marks: [Mark] = []
    public var events: [Event] = []
    /// Label and style of each legend entry.
    public var legend: [(label: String, style: String)] = []
    /// About how many ticks each axis has.
    public var xTicks = 6
    public var yTicks = 4
    public var width = 760.0
    public var height = 240.0
    /// Room for the axes' labels: left, right, top (the title, and the legend's row under it), bottom.
    var margin: (left: Double, right: Double, top: Double, bottom: Double) {
        (64, 12, legend.isEmpty ? 22 : 40, 36)
    }

    public init(title: String, x: ClosedRange<Double>, y: ClosedRange<Double>, xFormat: AxisFormat = .seconds,
                yFormat: AxisFormat = .number) {
        self.title = title
        self.x = x
        self.y = y
        self.xFormat = xFormat
        self.yFormat = yFormat
    }

    public var xScale: LinearScale {
        LinearScale(domain: x, range: margin.left...(width - margin.right))
    }
    public var yScale: LinearScale {
        LinearScale(domain: y, range: margin.top...(height - margin.bottom), flipped: true)
    }

    /// The path data of one mark, in pixels.
    public func pathData(_ mark: Mark) -> String {
        let sx = xScale, sy = yScale
        var d = ""
        func move(_ px: Double, _ py: Double) { d += "M" + coordinate(px) + " " + coordinate(py) }
        switch mark {
        case .line(let points, _):
            for (index, point) in points.enumerated() {
                d += (index == 0 ? "M" : "L") + coordinate(sx(point.x)) + " " + coordinate(sy(point.y))
            }
        case .steps(let points, _):
            for (index, point) in points.enumerated() {
                if index == 0 {
                    move(sx(point.x), sy(point.y))
                } else {
                    d += "H" + coordinate(sx(point.x)) + "V" + coordinate(sy(point.y))
                }
            }
        case .spans(let spans, _):
            for span in spans {
                let low = sy(span.low), high = sy(span.high)
                // A span under half a pixel high still shows, as a half-pixel tick.
                move(sx(span.x), low)
                d += "V" + coordinate(abs(low - high) < 0.5 ? low - 0.5 : high)
            }
        case .dots(let points, _):
            // A zero-length stroke with round caps is a dot as wide as the stroke.
            for point in points { move(sx(point.x), sy(point.y)); d += "h0" }
        case .columns(let points, let width, _):
            let base = sy(max(y.lowerBound, 0))
            for point in points where point.y != 0 {
                let left = sx(point.x), right = max(left + 0.5, sx(point.x + width) - 0.5)
                move(left, base)
                d += "V" + coordinate(sy(point.y)) + "H" + coordinate(right) + "V" + coordinate(base) + "Z"
            }
        }
        return d
    }

    /// The chart as an inline `<svg>` element of class `chart`.
    public func svg() -> Node<HTML.BodyContext> {
        var nodes: [Node<HTML.BodyContext>] = [
            .attribute(named: "class", value: "chart"),
            .attribute(named: "viewBox", value: "0 0 \(coordinate(width)) \(coordinate(height))"),
            .attribute(named: "role", value: "img"),
            // Plot escapes text but writes attribute values as they are.
            .attribute(named: "aria-label", value: escapedAttribute(title)),
            .attribute(named: "xmlns", value: "http://www.w3.org/2000/svg"),
            .element(named: "title", text: title),
        ]
        nodes += axes()
        for mark in marks {
            let d = pathData(mark)
            guard !d.isEmpty else { continue }
            nodes.append(.element(named: "path", nodes: [
                .attribute(named: "class", value: "mark " + mark.style), .attribute(named: "d", value: d),
            ]))
        }
        nodes += eventNodes()
        nodes += legendNodes()
        return .element(named: "svg", nodes: nodes)
    }

    func text(_ value: String, x: Double, y: Double, anchor: String, style: String) -> Node<HTML.BodyContext> {
        .element(named: "text", nodes: [
            .attribute(named: "x", value: coordinate(x)), .attribute(named: "y", value: coordinate(y)),
            .attribute(named: "text-anchor", value: anchor), .attribute(named: "class", value: style), .text(value),
        ])
    }

    func axes() -> [Node<HTML.BodyContext>] {
        let sx = xScale, sy = yScale
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        var grid = "", nodes: [Node<HTML.BodyContext>] = []
        for tick in sy.ticks(yTicks) {
            let py = sy(tick)
            grid += "M" + coordinate(left) + " " + coordinate(py) + "H" + coordinate(right)
            nodes.append(text(yFormat.text(tick), x: left - 6, y: py + 4, anchor: "end", style: "tick"))
        }
        for tick in sx.ticks(xTicks) {
            let px = sx(tick)
            grid += "M" + coordinate(px) + " " + coordinate(top) + "V" + coordinate(bottom)
            nodes.append(text(xFormat.text(tick), x: px, y: bottom + 16, anchor: "middle", style: "tick"))
        }
        let frame = "M" + coordinate(left) + " " + coordinate(top) + "V" + coordinate(bottom) + "H" + coordinate(right)
        return [
            .element(named: "path", nodes: [.attribute(named: "class", value: "grid"), .attribute(named: "d", value: grid)]),
            .element(named: "path", nodes: [.attribute(named: "class", value: "axis"), .attribute(named: "d", value: frame)]),
            text(title, x: left, y: 14, anchor: "start", style: "chart-title"),
        ] + nodes
    }

    func eventNodes() -> [Node<HTML.BodyContext>] {
        let sx = xScale
        return events.filter { x.contains($0.x) }.map { event in
            let px = sx(event.x)
            return .element(named: "g", nodes: [
                .attribute(named: "class", value: "event"),
                .element(named: "title", text: event.detail),
                .element(named: "path", nodes: [
                    .attribute(named: "d", value: "M" + coordinate(px) + " " + coordinate(margin.top)
                               + "V" + coordinate(height - margin.bottom)),
                ]),
                text(event.label, x: px + 2, y: margin.top + 10, anchor: "start", style: "event-label"),
            ])
        }
    }

    func legendNodes() -> [Node<HTML.BodyContext>] {
        var nodes: [Node<HTML.BodyContext>] = []
        // One row under the title, from the left: a swatch and the label, ~6.5 px a character.
        var position = margin.left
        for entry in legend {
            nodes.append(.element(named: "path", nodes: [
                .attribute(named: "class", value: "swatch " + entry.style),
                .attribute(named: "d", value: "M" + coordinate(position) + " 28h12"),
            ]))
            nodes.append(text(entry.label, x: position + 16, y: 32, anchor: "start", style: "legend"))
            position += Double(entry.label.count) * 6.5 + 30
        }
        return nodes
    }
}

/// `text` safe inside a double-quoted attribute value.
func escapedAttribute(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "\"": out += "&quot;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        default: out.append(character)
        }
    }
    return out
}
