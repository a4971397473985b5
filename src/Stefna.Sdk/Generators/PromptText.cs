using System.Globalization;
using System.Text;

namespace Stefna.Sdk.Generators;

/// <summary>
/// Text folding for prompt policies that match words: the form in which "naked", "na\u200Bked" (a zero-width space),
/// "ｎａｋｅｄ" (fullwidth) and "nakеd" (a Cyrillic е) are the same string, so a policy cannot be bypassed by characters
/// that look alike or do not show at all.
/// </summary>
/// <remarks>
/// <para><see cref="Skeleton"/> applies, in order: Unicode normalisation form KC (fullwidth, mathematical, circled and
/// other compatibility letters become plain letters); removal of every Default_Ignorable_Code_Point (zero-width spaces
/// and joiners, soft hyphens, word joiners, variation selectors, invisible tag characters; Unicode
/// DerivedCoreProperties); lower-casing (UTS #39 computes skeletons on case-folded text for case-insensitive
/// matching); the UTS #39 confusable mapping; decomposition with combining marks removed (accents ignored).</para>
/// <para>The confusable mapping is a subset of Unicode's <c>confusables.txt</c> (UTS #39 Unicode Security Mechanisms,
/// version 17.0.0, dated 2025-07-22, © Unicode, Inc., terms of use at https://www.unicode.org/terms_of_use.html): the
/// rows whose source is a lower-case or caseless letter of the Latin (IPA), Greek, Cyrillic, Armenian, Hebrew and
/// Cherokee scripts and whose target is one ASCII letter, which are the look-alikes NFKC leaves alone. No served NuGet
/// package carries the data (ICU4N is an alpha without the spoof checker; icu.net wraps no uspoof API), so the rows are
/// embedded here; the full table (about 6,500 rows) maps into every script and is not needed to compare with terms
/// written in Latin letters.</para>
/// </remarks>
public static class PromptText
{
    // confusables.txt 17.0.0 rows "source ; target ; MA" (source lower-case or caseless, target one ASCII letter).
    private static readonly Dictionary<int, char> Confusables = new()
    {
        // Latin (IPA and extended)
        [0x0131] = 'i', [0x01BD] = 's', [0x01C0] = 'l', [0x0251] = 'a', [0x0261] = 'g', [0x0263] = 'y', [0x0269] = 'i',
        [0x026A] = 'i', [0x026F] = 'w', [0x028B] = 'u', [0x028F] = 'y',

        // Greek
        [0x03B1] = 'a', [0x03B3] = 'y', [0x03B9] = 'i', [0x03BD] = 'v', [0x03BF] = 'o', [0x03C1] = 'p', [0x03C3] = 'o',
        [0x03C5] = 'u', [0x03F1] = 'p', [0x03F2] = 'c', [0x03F3] = 'j',

        // Cyrillic
        [0x0430] = 'a', [0x0433] = 'r', [0x0435] = 'e', [0x043E] = 'o', [0x0440] = 'p', [0x0441] = 'c', [0x0443] = 'y',
        [0x0445] = 'x', [0x0455] = 's', [0x0456] = 'i', [0x0458] = 'j', [0x0461] = 'w', [0x0475] = 'v', [0x04AF] = 'y',
        [0x04BB] = 'h', [0x04BD] = 'e', [0x04CF] = 'i', [0x0501] = 'd', [0x051B] = 'q', [0x051D] = 'w',

        // Armenian
        [0x0561] = 'w', [0x0563] = 'q', [0x0566] = 'q', [0x0570] = 'h', [0x0578] = 'n', [0x057C] = 'n', [0x057D] = 'u',
        [0x0581] = 'g', [0x0584] = 'f', [0x0585] = 'o',

        // Hebrew
        [0x05D5] = 'l', [0x05D8] = 'v', [0x05DF] = 'l', [0x05E1] = 'o',

        // Cherokee (lower-casing maps the capital letters to these small letters)
        [0xAB75] = 'i', [0x13A5] = 'i',
    };

    /// <summary>The folded form of a text (see the remarks): compare skeletons, never the raw text, when matching words.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The skeleton: lower-case, without invisible characters, accents or look-alikes of Latin letters.</returns>
    public static string Skeleton(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var compatible = text.Normalize(NormalizationForm.FormKC);
        var builder = new StringBuilder(compatible.Length);
        foreach (var rune in compatible.EnumerateRunes())
        {
            if (IsDefaultIgnorable(rune.Value))
            {
                continue;
            }

            var lower = Rune.ToLowerInvariant(rune);
            if (Confusables.TryGetValue(lower.Value, out var latin))
            {
                builder.Append(latin);
            }
            else
            {
                builder.Append(lower.ToString());
            }
        }

        var decomposed = builder.ToString().Normalize(NormalizationForm.FormD);
        builder.Clear();
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark))
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Whether a code point is Default_Ignorable_Code_Point (Unicode 17.0.0 DerivedCoreProperties.txt): it
    /// renders as nothing unless a font supports it specially.</summary>
    /// <param name="value">The code point.</param>
    /// <returns><see langword="true"/> for a default-ignorable code point.</returns>
    public static bool IsDefaultIgnorable(int value) => value is
        0x00AD or 0x034F or 0x061C or (>= 0x115F and <= 0x1160) or (>= 0x17B4 and <= 0x17B5) or (>= 0x180B and <= 0x180F)
        or (>= 0x200B and <= 0x200F) or (>= 0x202A and <= 0x202E) or (>= 0x2060 and <= 0x206F) or 0x3164
        or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF or 0xFFA0 or (>= 0xFFF0 and <= 0xFFF8) or (>= 0x1BCA0 and <= 0x1BCA3)
        or (>= 0x1D173 and <= 0x1D17A) or (>= 0xE0000 and <= 0xE0FFF);
}
