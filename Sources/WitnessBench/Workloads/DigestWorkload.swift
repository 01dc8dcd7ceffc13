import Glibc
import WitnessCore

/// `WitnessBench --sha256 [MiB]`: the executable hasher's digest on one core, over a
/// buffer in memory (what is left once the page cache holds the file), in MB/s, as JSON.
enum DigestWorkload {
    static func main(mebibytes: Int) {
        let block = [UInt8](unsafeUninitializedCapacity: 1 << 16) { buffer, count in
            for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: index &* 131 &+ 7) }
            count = buffer.count
        }
        let rounds = mebibytes * 16
        var start = timespec()
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        var digest = SHA256()
        block.withUnsafeBytes { for _ in 0..<rounds { digest.update($0) } }
        let bytes = digest.finish()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
        print(
            "{\"sha256_mb_per_second\":\(Int(Double(rounds << 16) / 1e6 / seconds)),\"digest\":\"\(SHA256.hex(bytes))\"}"
        )
    }
}
