import DSP
import XCTest

/// The categorical scale: equal bins, a choice's value at its bin's centre, no gradient, and the
/// file schema's round trip.
final class CategoricalParameterTests: XCTestCase {
    let spec = ParameterSpec("algorithm", range: 1...32, scale: .categorical)

    func testEveryChoiceHasAnEqualBinAndItsCentreMapsBack() {
        XCTAssertEqual(spec.choiceCount, 32)
        XCTAssertNil(ParameterSpec("x", range: 0...1).choiceCount)
        var counts = [Int](repeating: 0, count: 33)
        for i in 0..<32_000 { counts[Int(spec.physical((Double(i) + 0.5) / 32_000))] += 1 }
        XCTAssertEqual(counts[0], 0)
        XCTAssertEqual(Array(counts[1...]), [Int](repeating: 1000, count: 32))
        for k in 1...32 {
            let u = spec.normalised(Double(k))
            XCTAssertEqual(u, (Double(k - 1) + 0.5) / 32, accuracy: 1e-15)
            XCTAssertEqual(spec.physical(u), Double(k))
            XCTAssertEqual(spec.choice(u), k - 1)
            XCTAssertEqual(spec.physicalWithDerivative(u).derivative, 0)
        }
        // The ends and values outside [0, 1] stay on the first and last choices.
        XCTAssertEqual(spec.physical(0.0), 1)
        XCTAssertEqual(spec.physical(1.0), 32)
        XCTAssertEqual(spec.physical(7.0), 32)
        XCTAssertEqual(spec.choice(-3), 0)
        XCTAssertEqual(spec.choice(.nan), 0)
    }

    func testFileSchemaRoundTrip() throws {
        let description = ParameterDescription(spec)
        XCTAssertEqual(description.scale, "categorical")
        XCTAssertEqual(description.spec, spec)
        let decoded = try JSONDecoder().decode(ParameterDescription.self, from: JSONEncoder().encode(description))
        XCTAssertEqual(decoded.spec, spec)
        // A categorical range must run between integers: a damaged file is refused, not misread.
        var damaged = description
        damaged.max = 31.5
        XCTAssertNil(damaged.spec)
    }
}
