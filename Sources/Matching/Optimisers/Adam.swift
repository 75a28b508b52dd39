import RealModule

/// Adam (Kingma & Ba 2015) with bias correction, optional decoupled weight decay
/// (AdamW) and global-norm gradient clipping; state in float64.
public struct Adam: Sendable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Clip the gradient to this global L2 norm before the update (nil: no clipping).
    public var clipNorm: Double?
    public private(set) var step = 0
    private var m: [Double] = []
    private var v: [Double] = []

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, clipNorm: Double? = nil) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
    }

    /// The moment estimates and step count, for checkpoints (a restored optimiser continues
    /// exactly where the saved one stopped).
    public var state: (step: Int, m: [Double], v: [Double]) {
        get { (step, m, v) }
        set {
            precondition(newValue.m.count == newValue.v.count, "Adam: moment vectors differ in length")
            (step, m, v) = newValue
        }
    }

    /// Updates `parameters` in place from `gradient`; entries where `mask` is false stay put.
    public mutating func update(_ parameters: inout [Double], gradient: [Double], mask: [Bool]? = nil) {
        precondition(parameters.count == gradient.count, "Adam: \(parameters.count) parameters, \(gradient.count) gradients")
        if m.count != parameters.count {
            m = [Double](repeating: 0, count: parameters.count)
            v = m
            step = 0
        }
        step += 1
        var scale = 1.0
        if let clipNorm {
            let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > clipNorm { scale = clipNorm / norm }
        }
        let c1 = 1 - Double.pow(beta1, Double(step)), c2 = 1 - Double.pow(beta2, Double(step))
        for i in parameters.indices where mask?[i] ?? true {
            let g = gradient[i] * scale
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            let update = (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
            parameters[i] -= learningRate * (update + weightDecay * parameters[i])
        }
    }
}
