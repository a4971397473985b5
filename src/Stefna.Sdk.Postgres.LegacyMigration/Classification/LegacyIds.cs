using System.Security.Cryptography;
using System.Text;

namespace Stefna.Sdk.Legacy;

/// <summary>
/// How a legacy TEXT id becomes a row id of the dedicated tables: an id written as a UUID
/// (<c>xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx</c>, any case) keeps its value; any other id becomes the RFC 9562
/// version-5 (SHA-1, name-based) UUID of its UTF-8 text in <see cref="Namespace"/>, so the same legacy id always
/// maps to the same row id, in C# and in SQL alike. The original text is always kept in <c>legacy_id</c>.
/// </summary>
public static class LegacyIds
{
    /// <summary>The fixed namespace of the version-5 ids (never change it: already migrated rows depend on it).</summary>
    public static Guid Namespace { get; } = new("5f1e0c1e-7a53-4e1f-9b6a-57ef4a0a11d5");

    /// <summary>The id of the migrated row for a legacy id.</summary>
    /// <param name="legacyId">The legacy TEXT id.</param>
    /// <returns>The UUID the legacy id spells, or the version-5 UUID of it.</returns>
    public static Guid ToRowId(string legacyId)
    {
        ArgumentNullException.ThrowIfNull(legacyId);
        return IsCanonicalUuid(legacyId) ? Guid.ParseExact(legacyId, "D") : CreateVersion5(Namespace, legacyId);
    }

    /// <summary>Whether a text is a UUID in the 8-4-4-4-12 hexadecimal form (any case, nothing around it). Other
    /// spellings Guid or PostgreSQL would also accept (braces, no dashes) are treated as ordinary text ids, so the
    /// rule is the same everywhere.</summary>
    /// <param name="text">The text.</param>
    /// <returns><see langword="true"/> for a canonical UUID.</returns>
    public static bool IsCanonicalUuid(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length != 36)
        {
            return false;
        }

        for (var i = 0; i < 36; i++)
        {
            var c = text[i];
            var ok = i is 8 or 13 or 18 or 23 ? c == '-' : char.IsAsciiHexDigit(c);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A name-based version-5 UUID (RFC 9562 §5.5): SHA-1 of the namespace's bytes then the name's UTF-8 bytes.</summary>
    /// <param name="namespaceId">The namespace.</param>
    /// <param name="name">The name.</param>
    /// <returns>The UUID.</returns>
    public static Guid CreateVersion5(Guid namespaceId, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        namespaceId.TryWriteBytes(input, bigEndian: true, out _);
        nameBytes.CopyTo(input, 16);

        // SHA-1 is what version 5 is defined with; it is an id derivation here, not a security boundary.
#pragma warning disable CA5350
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
