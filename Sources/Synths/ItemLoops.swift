import DSP

/// The batch loops every module's render and pullback share: check the layout, size the
/// output, run one item per call over disjoint rows in parallel. Items never share state,
/// so results do not depend on the thread count.
extension Synth {
    /// Sizes `audio` for the request and runs `body(item, output row)` for every item.
    @inline(__always)
    func renderEachItem<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>,
                                         _ body: (_ item: Int, _ output: UnsafeMutablePointer<T>) -> Void) {
        renderUnits(controls, request, into: &audio, count: controls.batchSize) { b, audio in body(b, audio + b * request.sampleCount) }
    }

    /// A zeroed gradient, filled by `body(item, dL/dy row, gradient row)` for every item.
    @inline(__always)
    func pullbackEachItem<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>,
                                           _ body: (_ item: Int, _ cotangent: UnsafeMutablePointer<T>, _ gradient: UnsafeMutablePointer<T>) -> Void)
        -> Controls<T> {
        let n = request.sampleCount, stride = controls.layout.stride
        return pullbackUnits(controls, request, dAudio, count: controls.batchSize) { b, dy, g in body(b, dy + b * n, g + b * stride) }
    }

    /// `renderEachItem` for modules that work on several items at once (FM runs up to eight
    /// notes' feedback loops in the lanes of one vector): `body(items, their first output row)`
    /// for consecutive groups of at most `maximumSize` items, no larger than needed to give
    /// every thread a group. A module must give each item the result it gets alone, so the
    /// grouping (which follows the thread count) never changes an output.
    @inline(__always)
    func renderEachGroup<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>, maximumSize: Int,
                                          _ body: (_ items: Range<Int>, _ output: UnsafeMutablePointer<T>) -> Void) {
        let groups = Self.groups(controls.batchSize, maximumSize: maximumSize)
        renderUnits(controls, request, into: &audio, count: groups.count) { g, audio in
            body(groups[g], audio + groups[g].lowerBound * request.sampleCount)
        }
    }

    /// `pullbackEachItem` over groups: `body(items, their first cotangent row, first gradient row)`.
    @inline(__always)
    func pullbackEachGroup<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>, maximumSize: Int,
                                           _ body: (_ items: Range<Int>, _ cotangent: UnsafeMutablePointer<T>, _ gradient: UnsafeMutablePointer<T>) -> Void)
        -> Controls<T> {
        let groups = Self.groups(controls.batchSize, maximumSize: maximumSize)
        let n = request.sampleCount, stride = controls.layout.stride
        return pullbackUnits(controls, request, dAudio, count: groups.count) { g, dy, grad in
            body(groups[g], dy + groups[g].lowerBound * n, grad + groups[g].lowerBound * stride)
        }
    }

    /// Consecutive ranges covering 0..<count: as many as the threads (or more, to stay within
    /// `maximumSize`), sizes differing by at most one.
    static func groups(_ count: Int, maximumSize: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let wanted = max(min(Parallelism.threadCount, count), (count + maximumSize - 1) / maximumSize)
        return (0..<wanted).map { g in (g * count / wanted)..<((g + 1) * count / wanted) }
    }

    /// Checks the layout, sizes `audio`, and runs `body(unit, first output row)` for `count`
    /// units of work in parallel.
    @inline(__always)
    private func renderUnits<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>, count: Int,
                                             _ body: (_ unit: Int, _ audio: UnsafeMutablePointer<T>) -> Void) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let n = request.sampleCount
        if audio.batchSize != controls.batchSize || audio.sampleCount != n { audio = AudioBatch(zeros: controls.batchSize, sampleCount: n) }
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(count) { unit in body(unit, out.pointer) }
        }
    }

    /// A zeroed gradient, filled by `body(unit, first dL/dy row, first gradient row)` for
    /// `count` units of work in parallel.
    @inline(__always)
    private func pullbackUnits<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>, count: Int,
                                               _ body: (_ unit: Int, _ cotangent: UnsafeMutablePointer<T>, _ gradient: UnsafeMutablePointer<T>) -> Void)
        -> Controls<T> {
        precondition(dAudio.batchSize == controls.batchSize && dAudio.sampleCount == request.sampleCount,
                     "\(name) pullback: cotangent shape differs from the rendered audio")
        var grad = Controls<T>(zerosFor: controls.layout, batchSize: controls.batchSize)
        grad.values.withUnsafeMutableBufferPointer { g in
            dAudio.samples.withUnsafeBufferPointer { dy in
                let g = SendablePointer(g.baseAddress!), dy = SendablePointer(UnsafeMutablePointer(mutating: dy.baseAddress!))
                Parallelism.forEach(count) { unit in body(unit, dy.pointer, g.pointer) }
            }
        }
        return grad
    }

    /// `valueWithPullback` for modules that recompute in the backward pass: render now, and
    /// let the pullback re-run what it needs item by item.
    @inline(__always)
    func renderThenPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest,
                                             _ pullback: @escaping (Controls<T>, RenderRequest, AudioBatch<T>) -> Controls<T>)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        let audio = render(controls, request)
        return (audio, { pullback(controls, request, $0) })
    }
}

/// Physical values and d(physical)/d(normalised) of the global parameters of item `b`, in
/// float64 from the exact control (phases multiply f0's rounding by the sample index).
func globalValues<T: SynthScalar>(_ specs: [ParameterSpec], _ controls: Controls<T>, item b: Int) -> (physical: [Double], slope: [Double]) {
    var physical = [Double](), slope = [Double]()
    physical.reserveCapacity(specs.count); slope.reserveCapacity(specs.count)
    for (p, spec) in specs.enumerated() {
        let (v, d) = spec.physicalWithDerivative(Double(controls[item: b, parameter: p, frame: 0]))
        physical.append(v); slope.append(d)
    }
    return (physical, slope)
}
