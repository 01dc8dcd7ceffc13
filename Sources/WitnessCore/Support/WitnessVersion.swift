/// The agent's version: `--version`, the attestation's monitor type, and the
/// node API's identity.
package enum WitnessVersion {
    package static let current = "0.1.0"
}
