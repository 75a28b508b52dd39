import DSP
import Foundation

/// The genetic algorithm spiegelib's `BasicGA` runs (DEAP's `eaSimple`), the baseline Yee-King et
/// al. and Hagiwara et al. (2022, where it was the best method) compare against: a population of
/// 100 uniform points in the unit cube; each generation draws the next by tournaments of 3, mates
/// consecutive pairs with probability 0.5 by two-point crossover, and mutates an individual with
/// probability 0.3 by DEAP's `mutFlipBit` (indpb 0.05), which on float genes sets a gene to 0 (or
/// to 1 if it was 0); the best point ever seen is kept (DEAP's hall of fame). Generations run
/// until the budget is spent (spiegelib fixes 25), each population evaluated as one batch.
public enum GeneticSearch {
    public static func minimise(dimension: Int, populationSize: Int = 100, crossover: Double = 0.5, mutation: Double = 0.3,
                                geneMutation: Double = 0.05, budget: SearchBudget, seed: UInt64 = 0,
                                objective: ([[Double]]) -> [Double]) -> SearchResult {
        precondition(dimension >= 1 && populationSize >= 2, "genetic search: dimension and population must be positive")
        var ledger = SearchLedger(budget: budget)
        var random = CounterRandom(seed: seed, index: 0, stream: 17)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        var count = ledger.allowance(populationSize)
        guard count > 0 else { return ledger.result }
        var population = (0..<count).map { _ in (0..<dimension).map { _ in random.unit() } }
        var fitness = objective(population).map { $0.isNaN ? Double.infinity : $0 }
        ledger.record(population, fitness)
        while !ledger.exhausted {
            // Selection: tournaments of 3, as many as the population.
            var offspring: [[Double]] = [], inherited: [Double?] = []
            for _ in population.indices {
                var winner = below(population.count)
                for _ in 1..<3 { let other = below(population.count); if fitness[other] < fitness[winner] { winner = other } }
                offspring.append(population[winner]); inherited.append(fitness[winner])
            }
            // Variation (DEAP's varAnd): two-point crossover of pairs, then mutation.
            if dimension >= 2 {
                for i in stride(from: 1, to: offspring.count, by: 2) where random.unit() < crossover {
                    var a = 1 + below(dimension), b = 1 + below(dimension - 1)
                    if b >= a { b += 1 } else { swap(&a, &b) }
                    for g in a..<min(b, dimension) { (offspring[i - 1][g], offspring[i][g]) = (offspring[i][g], offspring[i - 1][g]) }
                    inherited[i - 1] = nil; inherited[i] = nil
                }
            }
            for i in offspring.indices where random.unit() < mutation {
                for g in 0..<dimension where random.unit() < geneMutation { offspring[i][g] = offspring[i][g] == 0 ? 1 : 0 }
                inherited[i] = nil
            }
            // Evaluate the changed individuals (one batch), as the budget allows.
            let changed = offspring.indices.filter { inherited[$0] == nil }
            count = ledger.allowance(changed.count)
            guard count > 0 || changed.isEmpty else { break }
            let evaluated = Array(changed.prefix(count))
            if !evaluated.isEmpty {
                let points = evaluated.map { offspring[$0] }
                let values = objective(points)
                ledger.record(points, values)
                for (k, i) in evaluated.enumerated() { inherited[i] = values[k].isNaN ? .infinity : values[k] }
            }
            // Individuals the budget could not evaluate keep their parents' places.
            population = offspring.indices.map { inherited[$0] == nil ? population[$0] : offspring[$0] }
            fitness = offspring.indices.map { inherited[$0] ?? fitness[$0] }
        }
        return ledger.result
    }
}
