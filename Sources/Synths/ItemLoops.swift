import DSP

/// The batch loops every module's render and pullback share: check the layout, size the
/// output, run one item per call over disjoint rows in parallel. Items never share state,
/// so results do not depend on the thread count.
extension Synth {
    /// Sizes `audio` for the request and runs `body(item, output row)` for every item.
    @inline(__always)
    func renderEachItem<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>,
                                         _ body: (_ item: Int, _ output: UnsafeMutablePointer<T>) -> Void) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let n = request.sampleCount
        if audio.batchSize != controls.batchSize || audio.sampleCount != n { audio = AudioBatch(zeros: controls.batchSize, sampleCount: n) }
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(controls.batchSize) { b in body(b, out.pointer + b * n) }
        }
    }

    /// A zeroed gradient, filled by `body(item, dL/dy row, gradient row)` for every item.
    @inline(__always)
    func pullbackEachItem<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>,
                                           _ body: (_ item: Int, _ cotangent: UnsafeMutablePointer<T>, _ gradient: UnsafeMutablePointer<T>) -> Void)
        -> Controls<T> {
        precondition(dAudio.batchSize == controls.batchSize && dAudio.sampleCount == request.sampleCount,
                     "\(name) pullback: cotangent shape differs from the rendered audio")
        let n = request.sampleCount, stride = controls.layout.stride
        var grad = Controls<T>(zerosFor: controls.layout, batchSize: controls.batchSize)
        grad.values.withUnsafeMutableBufferPointer { g in
            dAudio.samples.withUnsafeBufferPointer { dy in
                let g = SendablePointer(g.baseAddress!), dy = SendablePointer(UnsafeMutablePointer(mutating: dy.baseAddress!))
                Parallelism.forEach(controls.batchSize) { b in body(b, dy.pointer + b * n, g.pointer + b * stride) }
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
