import Testing
import WitnessCore
import WitnessTestSupport

/// FIPS 180-4 vectors and chunking invariance for the SHA-256 executables are named by.
struct SHA256Tests {
    private func hex(_ text: String) -> String {
        SHA256.hex(SHA256.hash(Array(text.utf8)))
    }

    /// Feeds `data` in chunks whose sizes cycle through `sizes`.
    private func chunkedHex(_ data: [UInt8], sizes: [Int]) -> String {
        var hasher = SHA256()
        data.withUnsafeBytes { raw in
            var offset = 0
            var index = 0
            while offset < raw.count {
                let size = min(sizes[index % sizes.count], raw.count - offset)
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + size)]))
                offset += size
                index += 1
            }
        }
        return SHA256.hex(hasher.finish())
    }

    @Test func emptyMessage() {
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func abc() {
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func twoBlockMessage() {
        #expect(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func oneMillionAInUnevenChunks() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(chunkedHex(message, sizes: [1, 63, 64, 65, 1000]) == expected)
        #expect(SHA256.hex(SHA256.hash(message)) == expected)
    }

    @Test func digestIsThirtyTwoBytesAndHexIsLowercase() {
        let digest = SHA256.hash([0xFF])
        #expect(digest.count == 32)
        #expect(SHA256.hex([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
    }

    @Test func finishResetsTheHasher() {
        var hasher = SHA256()
        Array("abc".utf8).withUnsafeBytes { hasher.update($0) }
        _ = hasher.finish()
        #expect(SHA256.hex(hasher.finish()) == hex(""))
    }

    /// Seeded random data of lengths around the padding boundaries: chunked equals one-shot.
    @Test func chunkedMatchesOneShotOnSeededRandomData() {
        var random = SeededGenerator(seed: 0x5EED_CAFE_F00D_0001)
        let lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 100_003]
        for length in lengths {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let oneShot = SHA256.hex(SHA256.hash(data))
            let sizes = (0..<7).map { _ in Int(random.next() % 150) + 1 }
            #expect(chunkedHex(data, sizes: sizes) == oneShot, "length \(length), chunk sizes \(sizes)")
            #expect(chunkedHex(data, sizes: [1]) == oneShot, "length \(length), byte at a time")
        }
    }

    /// Prefixes of 10,000 SplitMix64 low bytes from a fixed seed, at the padding boundaries (55 bytes is the most
    /// that pads within one block); the digests come from Python's hashlib.
    @Test func seededRandomDataMatchesReferenceDigests() {
        var random = SeededGenerator(seed: 0x5EED_CAFE_F00D_0002)
        let data = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let expected: [(Int, String)] = [
            (55, "e2914c492393fe8b4c6ab69a6945f2d4d377c90f043989d60347b11b88bac4ea"),
            (56, "7bdce4d73f77311167401621af015e30d637bceb04406860dffa12e99b8ad0dc"),
            (63, "103a7fa68363de25939c518748b73b876b459b588a0f2d66f44c2c2e0945f8bd"),
            (64, "d4a820d4edb305d08c30aa0c48dd0f7059a7b8eaa1286c2d0a7acfe4ed8497f8"),
            (65, "bea8bf6b171132f49e93fb1a95154433ca0a284b8e3c0bda8375dd1eada0b86a"),
            (119, "7818a5d6ff0cf31d0888dc8d93445d3b3e266127e8d6ab87f0880c074f06ed24"),
            (120, "c975de188890a1190d03cdad00e3e23b938abbdf9766578bfc8387a3b169411a"),
            (10_000, "98b53d57cc0ff857a0f1c5d24d119adc9018f4b975585b59992bddb6ff19326e"),
        ]
        for (length, digest) in expected {
            #expect(SHA256.hex(SHA256.hash(Array(data[..<length]))) == digest, "length \(length)")
        }
    }
}
