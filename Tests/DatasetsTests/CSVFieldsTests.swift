import Datasets
import Foundation
import XCTest

final class CSVFieldsTests: XCTestCase {
    /// What `CSVWriter.row` writes, `CSVWriter.fields` reads back: commas, quotes, empty fields.
    func testFieldsReadWhatRowsWrite() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-csv-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: Provenance.sidecar(of: path)) }
        let values = ["torch, wrapped phase", "say \"hi\"", "", "plain", "\"", ",,"]
        var csv = CSVWriter(path: path, header: ["a", "b", "c", "d", "e", "f"])
        csv.row(values)
        try csv.finish()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline)
        XCTAssertEqual(CSVWriter.fields(lines[1]), values)
        XCTAssertEqual(CSVWriter.fields("1,2,,3"), ["1", "2", "", "3"])
        XCTAssertEqual(CSVWriter.fields(""), [""])
    }
}
