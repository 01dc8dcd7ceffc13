import AsyncHTTPClient
import NIOCore
import NIOSSL
import WitnessCore

/// HTTP clients for the agent's outbound connections (outputs, the Kubernetes
/// API): the system's trust roots, or only the CAs of a PEM file when one is given.
enum HTTPClientFactory {
    /// - Parameters:
    ///   - caFile: PEM file of the CAs that may sign the server's certificate.
    ///   - setting: how the config names the CA file, for the error message.
    static func make(caFile: String?, setting: String, connect: TimeAmount, read: TimeAmount?) throws(AgentError) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            guard let certificates = try? NIOSSLCertificate.fromPEMFile(caFile), !certificates.isEmpty else {
                throw AgentError.usage("\(setting) \(caFile): not a readable PEM certificate file")
            }
            tls.trustRoots = .certificates(certificates)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: connect, read: read)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
