using System.Buffers.Binary;
using System.Numerics;

namespace Telemetry.Ingestion.Spool;

/// <summary>
/// The on-disk record: a 32-byte header then the payload (newline-separated line protocol).
/// <code>
/// magic u32 | payload length u32 | crc32c u32 (of bytes 12..end) | lines u32 | readings u32 | reserved u32 | created ms i64
/// </code>
/// A record whose magic, length or checksum does not match is torn (a write cut short by a crash) or corrupt.
/// </summary>
internal static class SpoolRecord
{
    public const int HeaderSize = 32;
    public const uint Magic = 0x50535454; // "TTSP"
    public const int MaxPayload = 512 * 1024 * 1024;

    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> payload, int lines, int readings, long createdMs)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], lines);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], readings);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], createdMs);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Checksum(header[12..HeaderSize], payload));
    }

    /// <summary>Reads the header's claims; false when it cannot be a record (bad magic or length).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out Header h)
    {
        h = default;
        if (header.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            return false;
        }
        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (length is < 0 or > MaxPayload)
        {
            return false;
        }
        h = new Header(length, BinaryPrimitives.ReadUInt32LittleEndian(header[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(header[12..]), BinaryPrimitives.ReadInt32LittleEndian(header[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[24..]));
        return true;
    }

    public static bool ChecksumMatches(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, in Header h) =>
        Checksum(header[12..HeaderSize], payload) == h.Crc;

    // CRC-32C with the CPU's instruction where there is one (BitOperations falls back to software).
    private static uint Checksum(ReadOnlySpan<byte> headerTail, ReadOnlySpan<byte> payload)
    {
        var crc = Update(0xFFFFFFFFu, headerTail);
        return ~Update(crc, payload);
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return crc;
    }

    internal readonly record struct Header(int Length, uint Crc, int Lines, int Readings, long CreatedMs)
    {
        public long TotalSize => HeaderSize + Length;
    }
}
