import Synchronization

/// Messages from other threads to the consumer thread, taken all at once.
final class Mailbox<Message: Sendable>: Sendable {
    private let messages = Mutex<[Message]>([])

    func post(_ message: Message) { messages.withLock { $0.append(message) } }

    func take() -> [Message] {
        messages.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
    }

    var isEmpty: Bool { messages.withLock { $0.isEmpty } }
}
