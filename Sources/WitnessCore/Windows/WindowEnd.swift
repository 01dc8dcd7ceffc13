/// How a witness window ended. Only a window that ran its requested length, or that
/// the controller closed itself, can testify that the subject was clean: one cut
/// short by the agent stopping (a rolling update, a node drain) saw less than was
/// asked of it, and its testimony says so.
package enum WindowEnd: String, Sendable {
    /// The requested length elapsed.
    case elapsed
    /// The controller closed it (DELETE) before its length elapsed.
    case deleted
    /// The agent stopped (SIGTERM, SIGINT) while it was open.
    case shutdown
    /// The agent died while it was open and testified after its restart.
    case agentRestarted
    /// Witnessing failed (the subject could no longer be watched).
    case failed
    /// An armed window whose subject never appeared before its arming deadline.
    case neverStarted

    /// Whether a window that ended this way can pass the gate.
    var canPass: Bool { self == .elapsed || self == .deleted }

    /// The gate's words for an ending that cannot pass.
    var failureDetail: String {
        switch self {
        case .elapsed, .deleted: return ""
        case .shutdown: return "ended early: the agent stopped"
        case .agentRestarted: return "ended early: the agent restarted"
        case .failed: return "ended early: witnessing failed"
        case .neverStarted: return "the subject never appeared before the arming deadline"
        }
    }
}
