import Foundation
import Glibc
import Synchronization
import WitnessCore

/// The host names a condition compares an address with (Falco's fd.sip.name and
/// fd.cip.name): resolved off the event path — when the rules load, then again every
/// `refreshSeconds` — so that a test is a lookup in the names' current addresses,
/// never a DNS query on the consumer thread. An address matches a name when it is
/// among that name's addresses now. getaddrinfo gives no TTL, so the refresh is a
/// fixed interval, the order of the short TTLs cluster DNS uses.
final class ResolvedNames: Sendable {
    let names: [String]
    private let addresses = Mutex<[IPNetwork]>([])
    /// Each name's addresses at its last answer: a name answers into the set as soon
    /// as it is resolved, and one slow name (a resolver that times out on it) holds
    /// up no other.
    private let byName: Mutex<[[IPNetwork]]>
    static let refreshSeconds = 30

    init(names: [String]) {
        self.names = names
        byName = Mutex([[IPNetwork]](repeating: [], count: names.count))
        NameRefresher.shared.register(self)
    }

    func contains(_ address: SocketAddress) -> Bool {
        addresses.withLock { $0.contains { $0.contains(address) } }
    }

    /// Looks every name up, many at once (blocking: on the refresher's threads
    /// only): up to `lookupThreads` short-lived threads, each taking every n-th
    /// name, so a name the resolver is slow on (a dropped query waits out the
    /// resolver's timeout) holds up at most a few others, never the whole list. A
    /// name the resolver could not answer for now (EAI_AGAIN) keeps the addresses
    /// it had.
    func refresh() {
        let threads = min(names.count, Self.lookupThreads)
        let group = DispatchGroup()
        for first in 0..<threads {
            group.enter()
            Thread.detachNewThread { [self] in
                for index in stride(from: first, to: names.count, by: threads) {
                    guard let found = Self.lookUp(names[index]) else { continue }
                    let union = byName.withLock { table -> [IPNetwork] in
                        table[index] = found
                        var all: [IPNetwork] = []
                        for network in table.joined() where !all.contains(network) { all.append(network) }
                        return all
                    }
                    addresses.withLock { $0 = union }
                }
                group.leave()
            }
        }
        group.wait()
    }

    static let lookupThreads = 32

    /// The addresses of `name`; nil when the resolver could not answer for now.
    private static func lookUp(_ name: String) -> [IPNetwork]? {
        var found: [IPNetwork] = []
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0 else { return status == EAI_AGAIN ? nil : [] }
        var entry = list
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let family = current.pointee.ai_family
            if let sockaddr = current.pointee.ai_addr {
                if family == AF_INET {
                    sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        var address = $0.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
                    }
                } else if family == AF_INET6 {
                    sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        var address = $0.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
                    }
                }
            }
            let decoded = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let network = IPNetwork(decoded), !found.contains(network) { found.append(network) }
            entry = current.pointee.ai_next
        }
        freeaddrinfo(list)
        return found
    }
}

/// One thread that resolves every registered name set: at once when it is
/// registered (the loader waits up to `firstAnswerWait` for that first answer: a
/// resolver that drops queries must not hold every start-up for seconds; names that
/// answer later count from then), then every `ResolvedNames.refreshSeconds`.
final class NameRefresher: Sendable {
    static let shared = NameRefresher()
    static let firstAnswerWait = DispatchTimeInterval.milliseconds(50)
    private let sets = Mutex<[ResolvedNames]>([])
    private let started = Mutex(false)

    func register(_ names: ResolvedNames) {
        sets.withLock { $0.append(names) }
        let first = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            names.refresh()
            first.signal()
        }
        _ = first.wait(timeout: .now() + Self.firstAnswerWait)
        let start = started.withLock { running -> Bool in
            defer { running = true }
            return !running
        }
        if start {
            Thread.detachNewThread { [self] in
                while true {
                    sleep(UInt32(ResolvedNames.refreshSeconds))
                    for set in sets.withLock({ $0 }) { set.refresh() }
                }
            }
        }
    }
}
