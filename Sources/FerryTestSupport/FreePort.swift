import Foundation
import Synchronization

/// A free TCP port on 127.0.0.1 for a server a test starts.
///
/// The port is picked below the kernel's ephemeral range, never from it: a port the kernel hands
/// out for `bind(0)` is free only until the next outgoing connection takes it, and with many tests
/// connecting in parallel one did (a fault proxy could not bind, and the test talked to another
/// test's server). Ports handed out in this process are not handed out again.
public enum FreePort {
    static let handedOut = Mutex<Set<Int>>([])

    /// Picks a port no socket on 127.0.0.1 is bound to right now.
    public static func pick() throws -> Int {
        let pool = serverPorts()
        for _ in 0..<500 {
            let port = Int.random(in: pool)
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh && bindable(port) { return port }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// The ports below the ephemeral range (`ip_local_port_range`) and above the well-known ones;
    /// when the range leaves too few, the upper ports above it.
    static func serverPorts() -> ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        let low = bounds.first ?? 32768
        let high = bounds.count > 1 ? bounds[1] : 60999
        if low - 1 - 10_000 >= 2_000 { return 10_000...(low - 1) }
        if 65_535 - high >= 2_000 { return (high + 1)...65_535 }
        return 10_000...65_535  // no room outside the range: the random pick still rarely collides
    }

    /// Whether a listening socket could bind the port now (with `SO_REUSEADDR`, as servers set it,
    /// so a port with connections in TIME_WAIT still counts as free).
    static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
