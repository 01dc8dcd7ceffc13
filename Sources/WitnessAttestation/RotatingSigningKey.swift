import Synchronization
import WitnessCore

/// The node's signing key, re-read when its file changes (a rotated Kubernetes
/// Secret replaces it), with the public keys it replaced: envelopes signed before a
/// rotation still verify against a key `/v1/identity` lists. A replacement that
/// cannot be loaded is never used: the last good key signs on and `lastError` says why.
package final class RotatingSigningKey: Sendable {
    /// A key this agent signed with and then replaced.
    package struct Retired: Sendable {
        package var key: VerificationKey
        package var retiredEpochNanoseconds: Int64
    }

    private struct State {
        var stamp: FileStamp?
        var key: SigningKey
        var retired: [Retired] = []
        var lastError: String?
    }

    package let file: String
    private let state: Mutex<State>

    /// Loads the key now: an agent configured to sign never starts without a key it can use.
    package init(file: String) throws(AttestationError) {
        let stamp = FileStamp(file)
        let key = try SigningKey.load(file: file)
        self.file = file
        state = Mutex(State(stamp: stamp, key: key))
    }

    /// The key to sign with now, after a look at whether the file changed.
    package var current: SigningKey {
        state.withLock { state in
            guard let stamp = FileStamp(file), stamp != state.stamp else { return state.key }
            state.stamp = stamp
            do throws(AttestationError) {
                let replacement = try SigningKey.load(file: file)
                if replacement.publicKey != state.key.publicKey {
                    state.retired.append(
                        Retired(
                            key: state.key.publicKey,
                            retiredEpochNanoseconds: WallClock().epochNanoseconds(boot: WallClock.bootNow())))
                    state.key = replacement
                }
                state.lastError = nil
            } catch {
                state.lastError = error.description
            }
            return state.key
        }
    }

    /// Why the file's present content is not the key in use (nil: it is).
    package var lastError: String? {
        _ = current
        return state.withLock { $0.lastError }
    }

    /// The keys this agent signed with before, oldest first.
    package var retired: [Retired] {
        _ = current
        return state.withLock { $0.retired }
    }

    /// Signs `statement` with the current key.
    package func envelope(statement: [UInt8]) throws(AttestationError) -> DSSEEnvelope {
        try current.envelope(statement: statement)
    }
}
