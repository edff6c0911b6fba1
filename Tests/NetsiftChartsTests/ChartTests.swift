import Testing
import Plot
@testable import NetsiftCharts

/// The SVG drawing: scales and ticks against values worked out by hand, the M4 reduction against
/// its definition, the paths of each mark against the pixels the scales give, and the rendering
/// (escaping, no external reference).
struct ScaleTests {
    @Test func mapsTheDomainOntoTheRange() {
        let scale = LinearScale(domain: 0...10, range: 100...200)
        #expect(scale(0) == 100)
        #expect(scale(10) == 200)
        #expect(scale(2.5) == 125)
        let flipped = LinearScale(domain: 0...10, range: 100...200, flipped: true)
        #expect(flipped(0) == 200)
        #expect(flipped(10) == 100)
    }

    @Test func widensAnEmptyDomainAroundItsValue() {
        let scale = LinearScale(domain: 5...5, range: 0...100)
        #expect(scale.domain == 2.5...7.5)
        #expect(scale(5) == 50)
        #expect(LinearScale(domain: 0...0, range: 0...10).domain == -1...1)
    }

    @Test func ticksAreRoundSteps() {
        // 0…1 in about 5: steps of 0.2 (d3.ticks(0, 1, 5) gives the same).
        #expect(niceTicks(0...1, count: 5) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        // 0…87 in about 4: a raw step of 21.75 rounds up to 50.
        #expect(niceTicks(0...87, count: 4) == [0, 50])
        // 3…27 in about 5: raw 4.8, step 5, from the first multiple inside.
        #expect(niceTicks(3...27, count: 5) == [5, 10, 15, 20, 25])
        #expect(niceTicks(-0.5...13.5, count: 14) == (0...13).map(Double.init))
        #expect(niceStep(0.03) == 0.05)
        #expect(niceStep(7) == 10)
    }

    @Test func axisText() {
        #expect(AxisFormat.seconds.text(0.25) == "250 ms")
        #expect(AxisFormat.seconds.text(1.5) == "1.5 s")
        #expect(AxisFormat.bytes.text(1_500_000) == "1.5 MB")
        #expect(AxisFormat.bitsPerSecond.text(2_000) == "2 kbit/s")
        #expect(AxisFormat.number.text(1_234_567) == "1,234,567")
        #expect(AxisFormat.labels(["a", "b"]).text(1) == "b")
        #expect(AxisFormat.labels(["a", "b"]).text(0.5) == "")
        #expect(compact(-0.125) == "-0.125")
        #expect(coordinate(12.34) == "12.3")
        #expect(coordinate(-3.96) == "-4")
    }
}

struct DownsampleTests {
    @Test func keepsFirstLowestHighestAndLastOfEachColumn() {
        // 100 points over x 0…99 in 2 columns: x 0…49.5 and 49.5…99; y is a spike at 10 and a dip at 70.
        let points = (0..<100).map { x in Point(Double(x), x == 10 ? 50 : x == 70 ? -50 : 0) }
        let reduced = downsample(points, columns: 2)
        #expect(reduced == [Point(0, 0), Point(10, 50), Point(49, 0), Point(50, 0), Point(70, -50), Point(99, 0)])
    }

    @Test func leavesShortSeriesAlone() {
        let points = (0..<8).map { Point(Double($0), Double($0 * $0)) }
        #expect(downsample(points, columns: 2) == points)
    }

    @Test func boundsTheOutput() {
        let points = (0..<100_000).map { Point(Double($0), Double($0 % 97)) }
        #expect(downsample(points, columns: 500).count <= 2_000)
    }
}

struct ChartTests {
    func chart() -> Chart {
        // x 0…10 onto 64…748 (760 wide, margins 64 and 12); y 0…100 onto 204…22 (240 high, margins 22 and 36).
        Chart(title: "T <&\">", x: 0...10, y: 0...100)
    }

    @Test func lineAndStepPaths() {
        let c = chart()
        #expect(c.pathData(.line([Point(0, 0), Point(10, 100)], style: "a")) == "M64 204L748 22")
        #expect(c.pathData(.steps([Point(0, 0), Point(5, 50)], style: "a")) == "M64 204H406V113")
    }

    @Test func spansDotsAndColumns() {
        let c = chart()
        #expect(c.pathData(.spans([Span(x: 5, low: 0, high: 100)], style: "s")) == "M406 204V22")
        // A span thinner than half a pixel is drawn half a pixel high.
        #expect(c.pathData(.spans([Span(x: 5, low: 50, high: 50.01)], style: "s")) == "M406 113V112.5")
        #expect(c.pathData(.dots([Point(10, 100)], style: "d")) == "M748 22h0")
        // A column from x 0 to 1 (68.4 px wide, less a half-pixel gap), 50 high; zero columns are skipped.
        #expect(c.pathData(.columns([Point(0, 50), Point(1, 0)], width: 1, style: "c")) == "M64 204V113H131.9V204Z")
    }

    @Test func rendersSelfContainedEscapedSVG() {
        var c = chart()
        c.marks = [.line([Point(0, 0), Point(10, 100)], style: "ack")]
        c.events = [Event(x: 5, label: "F1", detail: "a \"finding\"")]
        c.legend = [("ACK", "ack")]
        let svg = c.svg().render()
        #expect(svg.hasPrefix("<svg class=\"chart\" viewBox=\"0 0 760 240\""))
        #expect(svg.contains("aria-label=\"T &lt;&amp;&quot;&gt;\""))
        #expect(svg.contains("<title>T &lt;&amp;\"&gt;</title>"))
        // With a legend the plot starts 40 px down (the legend's row under the title): y 100 is at 40.
        #expect(svg.contains("<path class=\"mark ack\" d=\"M64 204L748 40\">"))
        #expect(svg.contains("M406 40V204"))   // the event's rule
        #expect(svg.contains("<path class=\"swatch ack\" d=\"M64 28h12\">"))
        #expect(!svg.contains("href"))
        #expect(!svg.contains("<script"))
    }

    @Test func emptyMarksDrawNoPath() {
        var c = chart()
        c.marks = [.line([], style: "x"), .columns([Point(1, 0)], width: 1, style: "y")]
        #expect(!c.svg().render().contains("class=\"mark"))
    }
}
