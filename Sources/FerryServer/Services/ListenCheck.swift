import FerryCore
import Foundation
import NIOCore
import NIOPosix

/// Whether `ferry serve` can listen where `FERRY_LISTEN` says, checked before it migrates or
/// bootstraps: a node that cannot bind stops with one line naming the fix, before it creates a data
/// directory or prints a first token that no running server goes with. (Without it, the bind failed
/// last, as `Error: bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`.)
public enum ListenCheck {
    /// Binds `host:port` as the server will (SO_REUSEADDR, as Hummingbird does) and closes it again.
    /// Throws the sentence to print when that fails.
    public static func run(host: String, port: Int) async throws(FerryError) {
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try? await channel.close().get()
        } catch {
            throw FerryError(.internalError, problem(error, host: host, port: port))
        }
    }

    /// One line for a failed bind of `host:port`: what is wrong and what to do.
    public static func problem(_ error: any Error, host: String, port: Int) -> String {
        let address = "\(host):\(port) (FERRY_LISTEN)"
        guard let io = error as? IOError else {
            return "cannot listen on \(address): \(error); set FERRY_LISTEN to an address of this machine"
        }
        switch io.errnoCode {
        case EADDRINUSE:
            return
                "cannot listen on \(address): the address is in use (another ferry serve or another program listens there); stop it, or set FERRY_LISTEN to a free port"
        case EADDRNOTAVAIL:
            return
                "cannot listen on \(address): no network interface of this machine has that address; use 127.0.0.1, 0.0.0.0 (every interface) or one of its addresses"
        case EACCES:
            return
                "cannot listen on \(address): ports below 1024 need privileges; use a port such as 8080 behind a reverse proxy, or grant the service CAP_NET_BIND_SERVICE"
        default:
            return "cannot listen on \(address): \(String(cString: strerror(io.errnoCode)))"
        }
    }
}
