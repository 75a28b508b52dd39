
/// One optional slot per work item, each written by the one worker that owns it (per-item
/// forward intermediates, per-resolution target spectra). Raw storage: concurrent writes to
/// distinct elements of a class's array property would trip Swift's dynamic exclusivity checks.
public final class WorkerSlots<Element>: @unchecked Sendable {
    public let items: UnsafeMutablePointer<Element?>
    public let count: Int
    public init(count: Int) {
        self.count = count
        items = .allocate(capacity: count)
        items.initialize(repeating: nil, count: count)
    }
    deinit { items.deinitialize(count: count); items.deallocate() }
}
