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
    static func make(
        caFile: String?, setting: String, connect: TimeAmount, read: TimeAmount?
    ) throws(AgentError) -> HTTPClient {
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

/// The API server's TLS: certificate chain and key from PEM files, and with a client
/// CA file, mutual TLS (a client without a certificate that CA signed is refused in
/// the handshake, before any request).
enum ServerTLS {
    static func configuration(_ tls: NodeConfig.TLS) throws(AgentError) -> TLSConfiguration {
        guard let chain = try? NIOSSLCertificate.fromPEMFile(tls.certFile), !chain.isEmpty else {
            throw AgentError.usage("api.tls.cert_file \(tls.certFile): not a readable PEM certificate file")
        }
        guard let key = try? NIOSSLPrivateKey(file: tls.keyFile, format: .pem) else {
            throw AgentError.usage("api.tls.key_file \(tls.keyFile): not a readable PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = tls.clientCAFile {
            guard let authorities = try? NIOSSLCertificate.fromPEMFile(caFile), !authorities.isEmpty else {
                throw AgentError.usage("api.tls.client_ca_file \(caFile): not a readable PEM certificate file")
            }
            configuration.trustRoots = .certificates(authorities)
            configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }
}
