import Matching
import XCTest

final class AdamTests: XCTestCase {
    func testFirstStepIsLearningRateTimesSign() {
        // With bias correction, m/sqrt(v) = g/|g| on the first step.
        var adam = Adam(learningRate: 0.1)
        var x = [1.0, -2.0, 3.0]
        adam.update(&x, gradient: [4.0, -0.5, 0])
        XCTAssertEqual(x[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(x[1], -1.9, accuracy: 1e-6)
        XCTAssertEqual(x[2], 3.0, accuracy: 1e-12)
    }

    func testMinimisesAnIllConditionedQuadratic() {
        var adam = Adam(learningRate: 0.05)
        var x = [5.0, -3.0]
        for _ in 0..<2000 { adam.update(&x, gradient: [2 * (x[0] - 1), 200 * (x[1] + 2)]) }
        XCTAssertEqual(x[0], 1, accuracy: 1e-3)
        XCTAssertEqual(x[1], -2, accuracy: 1e-3)
    }

    func testMaskClippingAndWeightDecay() {
        var adam = Adam(learningRate: 1, clipNorm: 1)
        var x = [0.0, 0.0]
        adam.update(&x, gradient: [30, 40], mask: [true, false])
        XCTAssertEqual(x[1], 0)
        XCTAssertEqual(x[0], -1, accuracy: 1e-6)   // clipped to (0.6, 0.8): still sign-like
        var decay = Adam(learningRate: 0.1, weightDecay: 0.5)
        var y = [2.0]
        decay.update(&y, gradient: [0])
        XCTAssertEqual(y[0], 2 - 0.1 * 0.5 * 2, accuracy: 1e-12)
    }
}

final class LearningRateScheduleTests: XCTestCase {
    func testSchedules() {
        XCTAssertEqual(LearningRateSchedule.constant.multiplier(step: 99), 1)
        let e = LearningRateSchedule.exponential(finalFraction: 0.01, steps: 100)
        XCTAssertEqual(e.multiplier(step: 0), 1)
        XCTAssertEqual(e.multiplier(step: 50), 0.1, accuracy: 1e-12)
        XCTAssertEqual(e.multiplier(step: 100), 0.01, accuracy: 1e-12)
        let c = LearningRateSchedule.warmupCosine(warmup: 10, steps: 110, finalFraction: 0.1)
        XCTAssertEqual(c.multiplier(step: 0), 0.1, accuracy: 1e-12)
        XCTAssertEqual(c.multiplier(step: 9), 1, accuracy: 1e-12)
        XCTAssertEqual(c.multiplier(step: 60), 0.55, accuracy: 1e-12)
        XCTAssertEqual(c.multiplier(step: 110), 0.1, accuracy: 1e-12)
        XCTAssertEqual(c.multiplier(step: 500), 0.1, accuracy: 1e-12)
    }
}
