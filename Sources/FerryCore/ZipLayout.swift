import Foundation

/// The byte layout of a bundle's ZIP archive (API.md "Bundles"), a pure function of its members:
/// every member stored (method 0) with its CRC-32 and sizes in the local header (no data
/// descriptors), the UTF-8 flag, ZIP64 extra fields exactly where a field overflows, and the
/// ZIP64 end records when the directory needs them. So the archive has an exact size, and any byte
/// range maps onto header bytes and member bytes without reading what precedes it.
///
/// Hand-written: no listed package writes a zip whose layout is known before its bytes exist
/// (ZIPFoundation compresses and seeks in a file it writes).
public struct ZipLayout: Sendable, Equatable {
    /// One member as the archive holds it.
    public struct Member: Sendable, Equatable, Codable {
        /// The name inside the archive (made safe and unique, `ZipLayout.safeNames`).
        public var name: String
        /// Size in bytes.
        public var size: Int64
        /// CRC-32 of the content.
        public var crc32: UInt32
        /// Modification time (the version's `updated_at`).
        public var modified: Date

        /// Creates a member.
        public init(name: String, size: Int64, crc32: UInt32, modified: Date) {
            self.name = name
            self.size = size
            self.crc32 = crc32
            self.modified = modified
        }
    }

    /// A run of the archive: bytes of the format, or a member's content.
    public enum Segment: Sendable, Equatable {
        /// Header or directory bytes.
        case header([UInt8])
        /// The content of member `index` (all of it).
        case member(index: Int, size: Int64)

        var length: Int64 {
            switch self {
            case .header(let bytes): Int64(bytes.count)
            case .member(_, let size): size
            }
        }
    }

    /// A piece of a requested range.
    public enum Piece: Sendable, Equatable {
        /// Format bytes, already cut to the range.
        case header([UInt8])
        /// A range of member `index`'s content.
        case member(index: Int, range: ClosedRange<Int64>)
    }

    /// The members, in archive order.
    public let members: [Member]
    /// The archive, in order.
    public let segments: [Segment]
    /// Where each segment starts.
    let starts: [Int64]
    /// The archive's size in bytes.
    public let size: Int64

    static let max32: Int64 = 0xFFFF_FFFF
    static let max16 = 0xFFFF

    /// Lays out an archive of `members`, in order.
    public init(members: [Member]) {
        self.members = members
        var segments: [Segment] = []
        var central: [UInt8] = []
        var offset: Int64 = 0
        for (index, member) in members.enumerated() {
            let local = Self.localHeader(member)
            segments.append(.header(local))
            segments.append(.member(index: index, size: member.size))
            central += Self.centralHeader(member, localOffset: offset)
            offset += Int64(local.count) + member.size
        }
        let centralOffset = offset
        let centralSize = Int64(central.count)
        var end: [UInt8] = central
        let needs64 = members.count >= Self.max16 || centralOffset >= Self.max32 || centralSize >= Self.max32
        if needs64 {
            let record64Offset = centralOffset + centralSize
            // ZIP64 end of central directory record (APPNOTE 4.3.14), then its locator (4.3.15).
            end += Self.le32(0x0606_4b50) + Self.le64(44) + Self.le16(45) + Self.le16(45) + Self.le32(0) + Self.le32(0)
            end += Self.le64(Int64(members.count)) + Self.le64(Int64(members.count))
            end += Self.le64(centralSize) + Self.le64(centralOffset)
            end += Self.le32(0x0706_4b50) + Self.le32(0) + Self.le64(record64Offset) + Self.le32(1)
        }
        let count16 = needs64 ? Self.max16 : members.count
        end += Self.le32(0x0605_4b50) + Self.le16(0) + Self.le16(0) + Self.le16(count16) + Self.le16(count16)
        end += Self.le32(needs64 ? Self.max32 : centralSize) + Self.le32(needs64 ? Self.max32 : centralOffset)
        end += Self.le16(0)
        segments.append(.header(end))
        var starts: [Int64] = []
        var position: Int64 = 0
        for segment in segments {
            starts.append(position)
            position += segment.length
        }
        self.segments = segments
        self.starts = starts
        self.size = position
    }

    /// The pieces of `range` (inclusive, within `0..<size`), in order.
    public func pieces(in range: ClosedRange<Int64>) -> [Piece] {
        precondition(range.lowerBound >= 0 && range.upperBound < size, "a range outside the archive")
        // The first segment that ends after the range's start (binary search).
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= range.lowerBound { low = middle } else { high = middle - 1 }
        }
        var pieces: [Piece] = []
        var index = low
        while index < segments.count, starts[index] <= range.upperBound {
            let start = starts[index]
            let segment = segments[index]
            let from = max(range.lowerBound, start) - start
            let to = min(range.upperBound, start + segment.length - 1) - start
            if from <= to {
                switch segment {
                case .header(let bytes): pieces.append(.header(Array(bytes[Int(from)...Int(to)])))
                case .member(let member, _): pieces.append(.member(index: member, range: from...to))
                }
            }
            index += 1
        }
        return pieces
    }

    // MARK: Records (PKWARE APPNOTE 6.3.10)

    static let flags: UInt16 = 0x0800  // bit 11: names are UTF-8

    static func localHeader(_ member: Member) -> [UInt8] {
        let name = Array(member.name.utf8)
        let zip64 = member.size >= max32
        // A local ZIP64 extra holds both sizes (APPNOTE 4.5.3).
        let extra = zip64 ? le16(1) + le16(16) + le64(member.size) + le64(member.size) : []
        let size32 = zip64 ? max32 : member.size
        let (time, date) = dosTime(member.modified)
        var out = le32(0x0403_4b50) + le16(zip64 ? 45 : 20) + le16(Int(flags)) + le16(0) + le16(time) + le16(date)
        out += le32(Int64(member.crc32)) + le32(size32) + le32(size32) + le16(name.count) + le16(extra.count)
        return out + name + extra
    }

    static func centralHeader(_ member: Member, localOffset: Int64) -> [UInt8] {
        let name = Array(member.name.utf8)
        let bigSize = member.size >= max32
        let bigOffset = localOffset >= max32
        // Only the fields that overflow, in the order of APPNOTE 4.5.3.
        var fields: [UInt8] = []
        if bigSize { fields += le64(member.size) + le64(member.size) }
        if bigOffset { fields += le64(localOffset) }
        let extra = fields.isEmpty ? [] : le16(1) + le16(fields.count) + fields
        let needed = bigSize || bigOffset ? 45 : 20
        let (time, date) = dosTime(member.modified)
        var out = le32(0x0201_4b50) + le16(3 << 8 | needed) + le16(needed) + le16(Int(flags)) + le16(0)
        out += le16(time) + le16(date) + le32(Int64(member.crc32))
        out += le32(bigSize ? max32 : member.size) + le32(bigSize ? max32 : member.size)
        out += le16(name.count) + le16(extra.count) + le16(0) + le16(0) + le16(0)
        // External attributes: a regular file, rw-r--r-- (Unix, in the high half).
        out += le32(Int64(0o100644) << 16) + le32(bigOffset ? max32 : localOffset)
        return out + name + extra
    }

    /// MS-DOS time and date of `date` in UTC, clamped to what the format holds (1980-2107).
    static func dosTime(_ date: Date) -> (time: Int, date: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = c.year ?? 1980
        if year < 1980 { return (0, 1 << 5 | 1) }
        if year > 2107 { return (23 << 11 | 59 << 5 | 29, 127 << 9 | 12 << 5 | 31) }
        let time = (c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2
        let day = (year - 1980) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1)
        return (time, day)
    }

    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func le32(_ value: Int64) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    static func le64(_ value: Int64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    // MARK: Names

    /// Names made safe for every unzip tool and unique within the archive: no `/`, `\`, `..` or
    /// control characters (replaced by `_`), never empty; a duplicate becomes `name (2).ext`.
    public static func safeNames(_ names: [String]) -> [String] {
        var taken = Set<String>()
        return names.map { raw in
            var name = String(
                String.UnicodeScalarView(
                    raw.unicodeScalars.map { scalar in
                        scalar == "/" || scalar == "\\" || scalar.properties.generalCategory == .control
                            ? "_" : scalar
                    }))
            while name.contains("..") { name = name.replacingOccurrences(of: "..", with: "_") }
            name = name.trimmingCharacters(in: .whitespaces)
            if name.isEmpty || name == "." { name = "file" }
            var candidate = name
            var counter = 2
            while taken.contains(candidate.lowercased()) {
                let dot = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : $0 }
                let stem = dot.map { String(name[..<$0]) } ?? name
                let ext = dot.map { String(name[$0...]) } ?? ""
                candidate = "\(stem) (\(counter))\(ext)"
                counter += 1
            }
            taken.insert(candidate.lowercased())
            return candidate
        }
    }
}
