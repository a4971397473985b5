using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.LegacySeeding;

/// <summary>
/// Writes realistic rows into a legacy <c>media_assets</c> table, to rehearse a migration and to benchmark it: every
/// rule kind of every registered type (generation type, mode, preset-key prefix, catalogue key, prompt-only), text
/// and UUID ids, mixed case and <c>_</c>/<c>-</c> variants, null, <c>{}</c>, extra-key and malformed <c>meta</c>,
/// repeated ids, unknown preset keys, rows without url, conflicting signals and rows no rule claims. The rows depend
/// only on the seed. They are streamed with binary COPY, so a million rows take seconds and little memory.
/// Test and benchmark tooling (the migration's tests and bench P4), not part of any shipped package.
/// </summary>
public static class LegacySeeder
{
    private static readonly string[] Prompts =
    [
        "a portrait of my cat in the rain", "me at the beach, sunset", "astronaut riding a horse", "a cozy cabin in snowy woods",
        "my dog wearing sunglasses", "street market at night", "grandma's garden in spring", "a lighthouse in a storm",
    ];

    /// <summary>Creates the legacy table <c>media_assets</c> when missing (the documented shape) and appends rows to it.</summary>
    /// <param name="dataSource">The database.</param>
    /// <param name="types">The types whose rules the rows exercise.</param>
    /// <param name="rows">How many rows to write.</param>
    /// <param name="seed">The seed: the same seed writes the same rows.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many rows were written.</returns>
    public static async Task<long> SeedAsync(NpgsqlDataSource dataSource, IEnumerable<GenerationTypeDefinition> types, int rows, int seed = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(types);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        const string name = "media_assets";
        var rules = new LegacyClassifier(types).Rules;
        if (rules.Count == 0)
        {
            throw new ArgumentException("No type has a legacy rule to seed rows for.", nameof(types));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var create = new NpgsqlCommand($"CREATE TABLE IF NOT EXISTS {name} (id text, user_id text, url text, prompt text, preset_key text, meta jsonb, created_at timestamptz)", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var random = new Random(seed);
        var recent = new Row[512];
        var epoch = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {name} (id, user_id, url, prompt, preset_key, meta, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        for (var n = 0; n < rows; n++)
        {
            Row row;
            if (n > 10 && random.Next(100) < 3)
            {
                // A repeated id: an exact copy, or the same id re-imported later.
                row = recent[random.Next(Math.Min(n, recent.Length))];
                if (random.Next(2) == 0)
                {
                    row = row with { CreatedAt = row.CreatedAt.AddMinutes(random.Next(1, 600)) };
                }
            }
            else
            {
                row = NewRow(random, rules, n, epoch.AddSeconds(random.Next(0, 60 * 60 * 24 * 600)).AddTicks(random.Next(0, 10_000_000)));
            }

            recent[n % recent.Length] = row;
            await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(row.Id, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await WriteAsync(writer, row.UserId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await WriteAsync(writer, row.Url, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await WriteAsync(writer, row.Prompt, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await WriteAsync(writer, row.PresetKey, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await WriteAsync(writer, row.Meta, NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(row.CreatedAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
        }

        return (long)await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteAsync(NpgsqlBinaryImporter writer, string? value, NpgsqlDbType type, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await writer.WriteAsync(value, type, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Row NewRow(Random random, IReadOnlyList<LegacyTypeRule> rules, int n, DateTimeOffset createdAt)
    {
        var idKind = random.Next(10);
        var id = idKind switch
        {
            < 6 => "ma_" + n.ToString(CultureInfo.InvariantCulture),
            < 8 => random.Next(5) == 0 ? RandomGuid(random).ToString().ToUpperInvariant() : RandomGuid(random).ToString(),
            8 => (100_000 + n).ToString(CultureInfo.InvariantCulture),
            _ => "asset-" + n.ToString("x", CultureInfo.InvariantCulture) + "-" + (char)('a' + random.Next(26)),
        };
        var user = random.Next(10) == 0 ? RandomGuid(random).ToString() : "user_" + random.Next(5000).ToString(CultureInfo.InvariantCulture);
        var url = $"https://res.cloudinary.com/stefna/image/upload/v{random.Next(1, 9)}/{id}.jpg";
        var rule = rules[random.Next(rules.Count)];
        string? prompt = random.Next(3) == 0 ? null : Prompts[random.Next(Prompts.Length)];
        string? presetKey = null;
        var meta = new Dictionary<string, object?>();
        var metaShape = 0; // 0 object, 1 null, 2 malformed

        var kind = random.Next(100);
        switch (kind)
        {
            case < 30 when rule.GenerationTypes.Count > 0:
                meta["generation_type"] = Variant(random, Pick(random, rule.GenerationTypes));
                presetKey = MatchingKey(random, rule);
                break;
            case < 50 when rule.Modes.Count > 0:
                meta["mode"] = Variant(random, Pick(random, rule.Modes));
                presetKey = MatchingKey(random, rule);
                break;
            case < 70 when rule.PresetKeyPrefixes.Count > 0 || rule.PresetKeys.Count > 0:
                presetKey = MatchingKey(random, rule) ?? Variant(random, Pick(random, rule.PresetKeyPrefixes.Concat(rule.PresetKeys).ToList()));
                metaShape = random.Next(3) == 0 ? 1 : 0;
                break;
            case < 82:
                // Prompt only: the fallback type takes it; malformed meta gives no signal.
                prompt = Prompts[random.Next(Prompts.Length)];
                metaShape = random.Next(4) switch { 0 => 1, 1 => 2, _ => 0 };
                break;
            case < 85:
                url = random.Next(2) == 0 ? null : " ";
                meta["generation_type"] = Variant(random, Pick(random, rule.GenerationTypes.Count > 0 ? rule.GenerationTypes : ["x"]));
                break;
            case < 88:
                // Conflicting explicit signals: two different types.
                var other = rules[random.Next(rules.Count)];
                if (other != rule && rule.GenerationTypes.Count > 0 && other.Modes.Count > 0)
                {
                    meta["generation_type"] = Variant(random, Pick(random, rule.GenerationTypes));
                    meta["mode"] = Variant(random, Pick(random, other.Modes));
                }
                else
                {
                    meta["generation_type"] = "sticker";
                    prompt = null;
                }

                break;
            case < 91:
                // No rule claims it: an unknown type and no prompt, or a prompt with an unknown preset key.
                if (random.Next(2) == 0)
                {
                    meta["generation_type"] = "sticker_pack";
                    prompt = null;
                }
                else
                {
                    presetKey = "legacy_filter_" + random.Next(20).ToString(CultureInfo.InvariantCulture);
                    prompt = Prompts[random.Next(Prompts.Length)];
                }

                break;
            case < 94 when rule.Type.Catalog is not null && rule.GenerationTypes.Count > 0:
                // An explicit type with a preset key its catalogue does not know (kept as a retired entry).
                meta["generation_type"] = Variant(random, Pick(random, rule.GenerationTypes));
                presetKey = "retro_" + random.Next(8).ToString(CultureInfo.InvariantCulture);
                break;
            default:
                if (rule.GenerationTypes.Count > 0)
                {
                    meta["generation_type"] = Variant(random, Pick(random, rule.GenerationTypes));
                }
                else
                {
                    prompt = Prompts[random.Next(Prompts.Length)];
                }

                break;
        }

        if (metaShape == 0)
        {
            switch (random.Next(6))
            {
                case 0:
                    meta["source"] = random.Next(2) == 0 ? "web" : "ios";
                    meta["width"] = 1024;
                    break;
                case 1:
                    meta["tags"] = new[] { "portrait", random.Next(2) == 0 ? "night" : "Summer", "portrait" };
                    break;
            }

            foreach (var column in rule.Type.ExtraColumns)
            {
                if (random.Next(2) == 0)
                {
                    meta[column] = random.Next(2) == 0 ? "joy" : "surprised";
                }
            }
        }

        var metaJson = metaShape switch
        {
            1 => random.Next(2) == 0 ? null : "{}",
            2 => random.Next(2) == 0 ? JsonSerializer.Serialize(JsonSerializer.Serialize(meta)) : "[\"not\", \"an\", \"object\"]",
            _ => JsonSerializer.Serialize(meta),
        };
        return new Row(id, user, url, prompt, presetKey, metaJson, createdAt);
    }

    /// <summary>A preset key this type's rule recognises (prefix + suffix, or a catalogue key), sometimes none.</summary>
    private static string? MatchingKey(Random random, LegacyTypeRule rule)
    {
        if (random.Next(3) == 0)
        {
            return null;
        }

        if (rule.PresetKeyPrefixes.Count > 0)
        {
            var prefix = Pick(random, rule.PresetKeyPrefixes);
            return Variant(random, prefix + (prefix.EndsWith('-') ? string.Empty : "-") + (random.Next(2) == 0 ? "joy" : "visor"));
        }

        if (rule.Type.Catalog is { } catalog && catalog.Entries.Count > 0)
        {
            // Mostly the exact catalogue key, so the row keeps a live preset.
            var key = catalog.Entries[random.Next(catalog.Entries.Count)].Key;
            return random.Next(10) == 0 ? key.ToUpperInvariant() : key;
        }

        return rule.PresetKeys.Count > 0 ? Variant(random, Pick(random, rule.PresetKeys)) : null;
    }

    /// <summary>A spelling the rules must accept: <c>-</c> or <c>_</c>, lower, upper or title case, maybe padded.</summary>
    private static string Variant(Random random, string normalized)
    {
        var text = random.Next(2) == 0 ? normalized.Replace('-', '_') : normalized;
        text = random.Next(4) switch
        {
            0 => text.ToUpperInvariant(),
            1 => text.Length > 0 ? char.ToUpperInvariant(text[0]) + text[1..] : text,
            _ => text,
        };
        return random.Next(20) == 0 ? " " + text + " " : text;
    }

    private static string Pick(Random random, IReadOnlyList<string> values) => values[random.Next(values.Count)];

    private static Guid RandomGuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }

    private sealed record Row(string Id, string? UserId, string? Url, string? Prompt, string? PresetKey, string? Meta, DateTimeOffset CreatedAt);
}
