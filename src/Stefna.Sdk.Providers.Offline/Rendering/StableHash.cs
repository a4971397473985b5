using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>Hashes that are the same in every process and on every machine (XxHash32/XxHash64 over UTF-8), unlike
/// <see cref="string.GetHashCode()"/>, which is randomised per process.</summary>
internal static class StableHash
{
    public static uint Of(string? text, int seed = 0) =>
        XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(text ?? string.Empty), seed);

    /// <summary>Mixes several values into one 64-bit seed.</summary>
    public static ulong Combine(params ReadOnlySpan<ulong> values)
    {
        Span<byte> buffer = stackalloc byte[8];
        var hash = new XxHash64();
        foreach (var value in values)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
            hash.Append(buffer);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Lower-case, trimmed, with <c>_</c> and spaces as <c>-</c>, so <c>Neo_Glitch</c> and <c>neo-glitch</c> agree.</summary>
    public static string Normalize(string? text) =>
        (text ?? string.Empty).Trim().ToLowerInvariant().Replace('_', '-').Replace(' ', '-');
}
