import Foundation
import SpinePlanService

/// Renders replay outcomes as a terminal table, JUnit XML and a self-contained HTML page.
public struct ReplayReport: Sendable {
    public var outcomes: [ReplayOutcome]
    public var tolerance: ReplayTolerance
    /// `offline` or the target peer, shown in headers.
    public var mode: String

    public init(outcomes: [ReplayOutcome], tolerance: ReplayTolerance, mode: String) {
        self.outcomes = outcomes
        self.tolerance = tolerance
        self.mode = mode
    }

    public var passed: Int { outcomes.filter { $0.verdict == .pass }.count }
    public var regressions: Int { outcomes.filter { $0.verdict == .regression }.count }
    public var errors: Int { outcomes.filter { $0.verdict == .error }.count }

    /// 0 when every recording replayed within tolerance; 1 for any regression or bad recording.
    public var exitCode: Int32 { regressions + errors == 0 && !outcomes.isEmpty ? 0 : 1 }

    // MARK: terminal

    public func table() -> String {
        let header = ["session", "result", "levels (recorded → replayed)", "max Δcentre mm", "max Δnormal °", "latency s"]
        var rows: [[String]] = []
        for o in outcomes {
            let levels = o.verdict == .error ? "-" : "\(ReplayOutcome.levels(o.recordedPlan)) → \(ReplayOutcome.levels(o.replayedPlan))"
            rows.append([o.name, o.verdict.rawValue.uppercased(), levels,
                         o.comparison.map { PlanComparison.fixed($0.maxCentreMillimetres, 2) } ?? "-",
                         o.comparison.map { PlanComparison.fixed($0.maxNormalDegrees, 2) } ?? "-",
                         o.latencySeconds.map { PlanComparison.fixed($0, 3) } ?? "-"])
        }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(header), line(widths.map { String(repeating: "-", count: $0) })]
        for (o, row) in zip(outcomes, rows) {
            out.append(line(row))
            for reason in o.comparison?.regressions ?? [] { out.append("    " + reason) }
            if let error = o.error { out.append("    " + error) }
        }
        out.append("\(outcomes.count) session(s): \(passed) passed, \(regressions) regressed, \(errors) error(s)  "
                   + "[tolerance \(PlanComparison.fixed(tolerance.centreMillimetres, 2)) mm, \(PlanComparison.fixed(tolerance.normalDegrees, 2))°; \(mode)]")
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: JUnit

    /// One testsuite, one testcase per session; regressions are failures carrying the deltas, bad recordings errors.
    public func junit() -> String {
        let total = outcomes.reduce(0) { $0 + $1.durationSeconds }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"spineplan replay\" tests=\"\(outcomes.count)\" failures=\"\(regressions)\" errors=\"\(errors)\" time=\"\(PlanComparison.fixed(total, 3))\">\n"
        x += "  <testsuite name=\"replay \(Self.xml(mode))\" tests=\"\(outcomes.count)\" failures=\"\(regressions)\" errors=\"\(errors)\" skipped=\"0\" time=\"\(PlanComparison.fixed(total, 3))\">\n"
        x += "    <properties>\n"
        x += "      <property name=\"tolerance_mm\" value=\"\(PlanComparison.fixed(tolerance.centreMillimetres, 3))\"/>\n"
        x += "      <property name=\"tolerance_deg\" value=\"\(PlanComparison.fixed(tolerance.normalDegrees, 3))\"/>\n"
        x += "    </properties>\n"
        for o in outcomes {
            x += "    <testcase classname=\"replay\" name=\"\(Self.xml(o.name))\" time=\"\(PlanComparison.fixed(o.durationSeconds, 3))\">\n"
            switch o.verdict {
            case .pass:
                break
            case .regression:
                let reasons = o.comparison?.regressions ?? []
                x += "      <failure type=\"regression\" message=\"\(Self.xml(reasons.first ?? "regression"))\">\(Self.xml(deltaText(o)))</failure>\n"
            case .error:
                x += "      <error type=\"bad-recording\" message=\"\(Self.xml(o.error ?? "error"))\">\(Self.xml(o.path))</error>\n"
            }
            var out = "recorded: \(ReplayOutcome.levels(o.recordedPlan))\nreplayed: \(ReplayOutcome.levels(o.replayedPlan))\n"
            if let l = o.latencySeconds { out += "latency_s: \(PlanComparison.fixed(l, 3))\n" }
            if o.verdict != .error { x += "      <system-out>\(Self.xml(out + deltaText(o)))</system-out>\n" }
            x += "    </testcase>\n"
        }
        x += "  </testsuite>\n</testsuites>\n"
        return x
    }

    func deltaText(_ o: ReplayOutcome) -> String {
        var lines = o.comparison?.regressions ?? []
        for d in o.comparison?.deltas ?? [] {
            lines.append("\(d.label): Δcentre \(d.centreMillimetres.map { PlanComparison.fixed($0, 3) } ?? "-") mm, "
                         + "Δnormal \(d.normalDegrees.map { PlanComparison.fixed($0, 3) } ?? "-")°, "
                         + "ΔFOV \(d.fieldOfViewMillimetres.map { PlanComparison.fixed($0, 2) } ?? "-") mm, "
                         + "slices \(d.recordedSlices.map(String.init) ?? "-")→\(d.replayedSlices.map(String.init) ?? "-")")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: HTML

    /// One self-contained page: inline CSS, overlays embedded as data: URIs, one row per session.
    public func html(generatedAt: Date = Date()) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>SpinePlan replay report</title>
        <style>
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
        h1{font-size:20px;margin:0 0 4px}.meta{color:#5b6475;margin-bottom:16px}
        .summary span{display:inline-block;padding:2px 10px;border-radius:10px;margin-right:6px;font-weight:600}
        .s-pass{background:#dcf5e3;color:#17643a}.s-regression{background:#fde2e1;color:#9b1c1c}.s-error{background:#fff0c2;color:#7a5200}
        table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}
        th,td{border-bottom:1px solid #e3e6eb;padding:8px 10px;text-align:left;vertical-align:top}
        th{background:#f0f2f5;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#5b6475}
        td.num{font-variant-numeric:tabular-nums;text-align:right}
        .verdict{font-weight:700}.v-pass{color:#17643a}.v-regression{color:#9b1c1c}.v-error{color:#7a5200}
        td.overlays{white-space:nowrap;width:400px}td.levels{white-space:nowrap}
        figure{display:inline-block;margin:0 8px 0 0;text-align:center;vertical-align:top}figure img{width:192px;height:auto;border:1px solid #ccd;background:#000}
        figcaption{font-size:11px;color:#5b6475}.none{display:inline-block;width:192px;height:120px;line-height:120px;border:1px dashed #bbc;color:#889;font-size:12px}
        ul{margin:4px 0 0;padding-left:18px}table.deltas{width:auto;box-shadow:none;background:none}
        .deltas td{border:none;padding:1px 10px 1px 0;font-size:12px;font-variant-numeric:tabular-nums;white-space:nowrap}
        </style></head><body>
        <h1>SpinePlan replay report</h1>

        """
        h += "<div class=\"meta\">\(Self.xml(mode)) · tolerance \(PlanComparison.fixed(tolerance.centreMillimetres, 2)) mm, "
            + "\(PlanComparison.fixed(tolerance.normalDegrees, 2))° · \(UTCTimestamp.iso8601(generatedAt.timeIntervalSince1970))</div>\n"
        h += "<div class=\"summary\"><span class=\"s-pass\">\(passed) passed</span><span class=\"s-regression\">\(regressions) regressed</span>"
            + "<span class=\"s-error\">\(errors) error(s)</span></div><br>\n"
        h += "<table>\n<thead><tr><th>Session</th><th>Result</th><th>Levels</th><th>Deltas per plane</th><th>Latency</th><th>Overlay: recorded · replayed</th></tr></thead>\n<tbody>\n"
        for o in outcomes {
            h += "<tr class=\"session\"><td><b>\(Self.xml(o.name))</b></td>"
            h += "<td class=\"verdict v-\(o.verdict.rawValue)\">\(o.verdict.rawValue.uppercased())</td>"
            if o.verdict == .error && o.recordedPlan == nil {
                h += "<td class=\"levels\">–</td><td>"
            } else {
                h += "<td class=\"levels\">recorded: \(Self.xml(ReplayOutcome.levels(o.recordedPlan)))<br>replayed: \(Self.xml(ReplayOutcome.levels(o.replayedPlan)))</td><td>"
            }
            if let c = o.comparison, !c.deltas.isEmpty {
                h += "<table class=\"deltas\">"
                for d in c.deltas {
                    h += "<tr><td>\(Self.xml(d.label))</td><td>\(d.centreMillimetres.map { PlanComparison.fixed($0, 2) } ?? "–") mm</td>"
                        + "<td>\(d.normalDegrees.map { PlanComparison.fixed($0, 2) } ?? "–")°</td>"
                        + "<td>\(d.recordedSlices.map(String.init) ?? "–")→\(d.replayedSlices.map(String.init) ?? "–") sl</td></tr>"
                }
                h += "</table>"
            }
            let notes = (o.comparison?.regressions ?? []) + (o.error.map { [$0] } ?? [])
            if !notes.isEmpty { h += "<ul>" + notes.map { "<li>\(Self.xml($0))</li>" }.joined() + "</ul>" }
            h += "</td><td class=\"num\">\(o.latencySeconds.map { PlanComparison.fixed($0, 3) + " s" } ?? "–")</td><td class=\"overlays\">"
            h += Self.figure(o.recordedOverlayPNG, "recorded") + Self.figure(o.replayedOverlayPNG, "replayed")
            h += "</td></tr>\n"
        }
        h += "</tbody></table>\n</body></html>\n"
        return h
    }

    static func figure(_ png: [UInt8]?, _ caption: String) -> String {
        guard let png, !png.isEmpty else { return "<figure><div class=\"none\">no overlay</div><figcaption>\(caption)</figcaption></figure>" }
        return "<figure><img alt=\"\(caption) overlay\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\"><figcaption>\(caption)</figcaption></figure>"
    }

    /// Escapes text for XML and HTML content and attributes.
    static func xml(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\u{9}", "\u{A}", "\u{D}": out.unicodeScalars.append(c)
            default:
                // Control characters are not allowed in XML 1.0 at all.
                if c.value < 0x20 || (0xFFFE...0xFFFF).contains(c.value) { out += "?" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}
