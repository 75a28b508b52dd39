import Datasets
import Foundation

/// A minimal SVG line chart (no plotting library on the machine): one or more panels of
/// named series sharing an x axis, axes with a few ticks, a legend.
struct SVGPlot {
    struct Series {
        var name: String; var x: [Double]; var y: [Double]
        /// Markers at the points instead of a line (a scatter, or values of separate items).
        var points = false
    }
    struct Panel {
        var title: String
        var series: [Series]
        var yLabel: String
        var logY = false
        /// Vertical marker lines (e.g. the target).
        var markers: [Double] = []
    }

    var title: String
    var xLabel: String
    var panels: [Panel]
    var columns = 2
    var panelWidth = 460.0, panelHeight = 260.0

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"]

    func render() -> String {
        let rows = (panels.count + columns - 1) / columns
        let width = Double(columns) * panelWidth, height = 40 + Double(rows) * panelHeight
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        for (i, panel) in panels.enumerated() {
            let ox = Double(i % columns) * panelWidth, oy = 40 + Double(i / columns) * panelHeight
            svg += draw(panel, ox: ox, oy: oy)
        }
        return svg + "</svg>\n"
    }

    func draw(_ panel: Panel, ox: Double, oy: Double) -> String {
        let left = ox + 60, right = ox + panelWidth - 15, top = oy + 22, bottom = oy + panelHeight - 40
        let xs = panel.series.flatMap(\.x).filter(\.isFinite), ys = panel.series.flatMap(\.y).filter(\.isFinite).map { panel.logY ? log10(max($0, 1e-12)) : $0 }
        guard let x0 = xs.min(), let x1 = xs.max(), var y0 = ys.min(), var y1 = ys.max() else { return "" }
        if y1 - y0 < 1e-12 { y0 -= 1; y1 += 1 }
        func px(_ x: Double) -> Double { left + (x - x0) / max(x1 - x0, 1e-12) * (right - left) }
        func py(_ y: Double) -> Double {
            let v = panel.logY ? log10(max(y, 1e-12)) : y
            return bottom - (v - y0) / (y1 - y0) * (bottom - top)
        }
        var s = "<text x=\"\((left + right) / 2)\" y=\"\(oy + 14)\" text-anchor=\"middle\" font-size=\"12\">\(escape(panel.title))</text>\n"
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"none\" stroke=\"#444\"/>\n"
        for t in 0...4 {
            let xv = x0 + Double(t) / 4 * (x1 - x0), yv = y0 + Double(t) / 4 * (y1 - y0)
            s += "<text x=\"\(px(xv))\" y=\"\(bottom + 14)\" text-anchor=\"middle\">\(label(xv))</text>\n"
            let yText = panel.logY ? label(pow(10, yv)) : label(yv)
            let yPixel = bottom - Double(t) / 4 * (bottom - top)
            s += "<text x=\"\(left - 4)\" y=\"\(yPixel + 4)\" text-anchor=\"end\">\(yText)</text>\n"
        }
        s += "<text x=\"\((left + right) / 2)\" y=\"\(bottom + 30)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(\(ox + 14),\((top + bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(panel.yLabel))</text>\n"
        for m in panel.markers where m >= x0 && m <= x1 {
            s += "<line x1=\"\(px(m))\" y1=\"\(top)\" x2=\"\(px(m))\" y2=\"\(bottom)\" stroke=\"#999\" stroke-dasharray=\"3,3\"/>\n"
        }
        for (j, series) in panel.series.enumerated() {
            let colour = Self.palette[j % Self.palette.count]
            let points = zip(series.x, series.y).filter { $0.1.isFinite }.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }
            if series.points {
                for (x, y) in zip(series.x, series.y) where y.isFinite && x.isFinite {
                    s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", px(x), py(y), colour)
                }
            } else {
                s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.3\" points=\"\(points.joined(separator: " "))\"/>\n"
            }
            s += "<text x=\"\(right - 4)\" y=\"\(top + 13 + 12 * Double(j))\" text-anchor=\"end\" fill=\"\(colour)\">\(escape(series.name))</text>\n"
        }
        return s
    }

    func label(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e4 || a < 1e-2 { return String(format: "%.0e", v) }
        return a >= 100 ? String(format: "%.0f", v) : String(format: "%.3g", v)
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    func write(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AtomicFile.write(Data(render().utf8), to: path)
    }
}
