import Foundation
import Matching
#if SYNTHMATCH_MPI
import CMPI
#endif

/// Data-parallel training across processes (issue 18): under `mpirun -np N`, a synthmatch built
/// with `SYNTHMATCH_MPI=1` splits every global batch across the N processes and sums their
/// gradients with `MPI_Allreduce`; every process then takes the same step (`EstimatorTrainer.reducer`).
enum DataParallel {
    /// This process's reducer when it is one of several MPI processes; nil for a single process.
    /// A build without MPI launched by mpirun stops with a clear error, instead of N processes
    /// each training the whole model into the same file.
    static func start() throws -> (any GradientReducer)? {
        #if SYNTHMATCH_MPI
        let reducer = MPIReducer()
        return reducer.size > 1 ? reducer : nil
        #else
        let environment = ProcessInfo.processInfo.environment
        if let size = (environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"]).flatMap({ Int($0) }), size > 1 {
            throw CommandFailure("launched as one of \(size) MPI processes, but this synthmatch was built without MPI: build it with SYNTHMATCH_MPI=1 swift build -c release --scratch-path .build-mpi (needs libopenmpi-dev)")
        }
        return nil
        #endif
    }

    /// How many processes of this job share this machine (Open MPI's local size; 1 outside mpirun).
    static func processesOnThisNode() -> Int {
        let environment = ProcessInfo.processInfo.environment
        return (environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? environment["MPI_LOCALNRANKS"]).flatMap { Int($0) }.map { max(1, $0) } ?? 1
    }

    /// Ends MPI (once every process is done) when it was started.
    static func finish() {
        #if SYNTHMATCH_MPI
        MPIReducer.finalize()
        #endif
    }
}

#if SYNTHMATCH_MPI
/// `MPI_Allreduce` (sum, in place) over `MPI_COMM_WORLD`.
final class MPIReducer: GradientReducer {
    let rank: Int
    let size: Int

    init() {
        var initialised: Int32 = 0
        MPI_Initialized(&initialised)
        if initialised == 0 { MPI_Init(nil, nil) }
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &r)
        MPI_Comm_size(cmpi_comm_world(), &s)
        rank = Int(r)
        size = Int(s)
    }

    func allReduceSum(_ values: inout [Double]) throws {
        let count = values.count
        let status = values.withUnsafeMutableBufferPointer { buffer in
            MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(count), cmpi_double(), cmpi_sum(), cmpi_comm_world())
        }
        guard status == MPI_SUCCESS else { throw CommandFailure("MPI_Allreduce failed (error \(status)) on process \(rank) of \(size)") }
    }

    static func finalize() {
        var initialised: Int32 = 0, finalised: Int32 = 0
        MPI_Initialized(&initialised)
        MPI_Finalized(&finalised)
        if initialised != 0 && finalised == 0 { MPI_Finalize() }
    }
}
#endif
