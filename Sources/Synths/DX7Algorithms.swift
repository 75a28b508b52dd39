/// One of the DX7's 32 operator routings, as data.
///
/// Operators are numbered 1...6 as on the DX7. Every modulation edge runs from a higher to
/// a lower number, so computing operators 6 down to 1 is a topological order; carriers are
/// the operators that modulate nobody. Each algorithm has exactly one feedback edge with a
/// one-sample delay: `source -> destination` with `destination >= source` (a self loop, or
/// algorithms 4 and 6, where operator 4 / 5 feeds back to the top of its stack, operator 6).
public struct DX7Algorithm: Sendable, Hashable {
    public let number: Int
    /// (modulator, modulated) pairs.
    public let edges: [(Int, Int)]
    public let feedback: (source: Int, destination: Int)
    public let carriers: [Int]
    /// Modulators of each operator (index 1...6; index 0 unused).
    public let modulators: [[Int]]
    /// Operators on the feedback loop, highest first: the destination, down the stack to the source.
    public let loop: [Int]

    public static func == (a: Self, b: Self) -> Bool { a.number == b.number }
    public func hash(into h: inout Hasher) { h.combine(number) }

    /// `routing`: chains such as `"6>5>4>3 2>1"`; `feedback`: `"6>6"`.
    init(_ number: Int, _ routing: String, feedback fb: String) {
        self.number = number
        var edges: [(Int, Int)] = []
        for chain in routing.split(separator: " ") {
            let ops = chain.split(separator: ">").map { Int($0)! }
            for (a, b) in zip(ops, ops.dropFirst()) { edges.append((a, b)) }
        }
        let f = fb.split(separator: ">").map { Int($0)! }
        precondition(edges.allSatisfy { $0.0 > $0.1 } && f[1] >= f[0], "DX7 algorithm \(number): edges must run downwards")
        self.edges = edges
        self.feedback = (f[0], f[1])
        self.carriers = (1...6).filter { op in !edges.contains { $0.0 == op } }
        var modulators = [[Int]](repeating: [], count: 7)
        for (a, b) in edges { modulators[b].append(a) }
        self.modulators = modulators
        // The loop: from the destination follow modulated operators down to the source.
        var loop = [f[1]]
        while loop.last! != f[0] {
            let next = edges.filter { $0.0 == loop.last! }.map(\.1).filter { $0 >= f[0] }.max()
            guard let next else { preconditionFailure("DX7 algorithm \(number): feedback source is not below its destination") }
            loop.append(next)
        }
        precondition(zip(loop, loop.dropFirst()).allSatisfy { $0 == $1 + 1 }, "DX7 algorithm \(number): loop operators must be consecutive")
        // FMSynth runs the loop as a chain: inside the loop, op k is modulated by op k + 1 only.
        for op in loop.dropFirst() {
            precondition(modulators[op].filter { loop.contains($0) } == [op + 1], "DX7 algorithm \(number): the feedback loop must be a chain")
        }
        precondition(modulators[f[1]].allSatisfy { !loop.contains($0) }, "DX7 algorithm \(number): the loop's top has no modulator inside the loop")
        self.loop = loop
    }

    /// The 32 algorithms (Yamaha DX7 operating manual, algorithm chart).
    public static let all: [DX7Algorithm] = [
        .init(1, "2>1 6>5>4>3", feedback: "6>6"),
        .init(2, "2>1 6>5>4>3", feedback: "2>2"),
        .init(3, "3>2>1 6>5>4", feedback: "6>6"),
        .init(4, "3>2>1 6>5>4", feedback: "4>6"),
        .init(5, "2>1 4>3 6>5", feedback: "6>6"),
        .init(6, "2>1 4>3 6>5", feedback: "5>6"),
        .init(7, "2>1 4>3 5>3 6>5", feedback: "6>6"),
        .init(8, "2>1 4>3 5>3 6>5", feedback: "4>4"),
        .init(9, "2>1 4>3 5>3 6>5", feedback: "2>2"),
        .init(10, "3>2>1 5>4 6>4", feedback: "3>3"),
        .init(11, "3>2>1 5>4 6>4", feedback: "6>6"),
        .init(12, "2>1 4>3 5>3 6>3", feedback: "2>2"),
        .init(13, "2>1 4>3 5>3 6>3", feedback: "6>6"),
        .init(14, "2>1 4>3 5>4 6>4", feedback: "6>6"),
        .init(15, "2>1 4>3 5>4 6>4", feedback: "2>2"),
        .init(16, "2>1 4>3>1 6>5>1", feedback: "6>6"),
        .init(17, "2>1 4>3>1 6>5>1", feedback: "2>2"),
        .init(18, "2>1 3>1 6>5>4>1", feedback: "3>3"),
        .init(19, "3>2>1 6>4 6>5", feedback: "6>6"),
        .init(20, "3>1 3>2 5>4 6>4", feedback: "3>3"),
        .init(21, "3>1 3>2 6>4 6>5", feedback: "3>3"),
        .init(22, "2>1 6>3 6>4 6>5", feedback: "6>6"),
        .init(23, "3>2 6>4 6>5", feedback: "6>6"),
        .init(24, "6>3 6>4 6>5", feedback: "6>6"),
        .init(25, "6>4 6>5", feedback: "6>6"),
        .init(26, "3>2 5>4 6>4", feedback: "6>6"),
        .init(27, "3>2 5>4 6>4", feedback: "3>3"),
        .init(28, "2>1 5>4>3", feedback: "5>5"),
        .init(29, "4>3 6>5", feedback: "6>6"),
        .init(30, "5>4>3", feedback: "5>5"),
        .init(31, "6>5", feedback: "6>6"),
        .init(32, "", feedback: "6>6"),
    ]

    public static func number(_ n: Int) -> DX7Algorithm {
        precondition((1...32).contains(n), "DX7 algorithms are numbered 1...32")
        return all[n - 1]
    }
}
