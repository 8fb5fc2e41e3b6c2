import FerryCore
import Foundation
import Testing

/// CRC-32 as zip needs it: the standard check value, incremental feeding, and combination.
@Suite struct CRC32Tests {
    @Test func checkValueAndIncrementalAndCombined() {
        #expect(CRC32.of(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.of([UInt8]()) == 0)
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var running = CRC32()
        for slice in stride(from: 0, to: bytes.count, by: 777) {
            running.update(bytes[slice..<min(slice + 777, bytes.count)])
        }
        #expect(running.value == CRC32.of(bytes))
        let a = CRC32.of(bytes[..<40_000])
        let b = CRC32.of(bytes[40_000...])
        #expect(CRC32.combine(a, b, lengthOfB: 60_000) == CRC32.of(bytes))
    }
}
