using System.Globalization;
using System.Text;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// Compiles the core's <see cref="LegacyClassifier"/> rules into SQL, so PostgreSQL classifies and maps rows set-based
/// with exactly the decision the C# classifier makes. A row's class is an integer: the index of its type in
/// <see cref="LegacyClassifier.Rules"/>, or minus its <see cref="LegacyUnclassifiedReason"/>.
/// </summary>
internal sealed class LegacySql
{
    internal const string StagingTable = "stefna_legacy_staging";
    internal const string ImportTable = "stefna_legacy_import";
    internal const string RunsTable = "stefna_legacy_runs";
    internal const string BatchesTable = "stefna_legacy_batches";
    internal const string VerificationsTable = "stefna_legacy_verifications";

    /// <summary>Every row a batch wrote: (type name, row id). Verification checks exactly these rows (plus the legacy
    /// rows not yet migrated); rows the new system held before are the new system's own.</summary>
    internal const string WrittenTable = "stefna_legacy_written";

    /// <summary>Where the drop keeps the legacy rows whose content no type table holds (in the target database).</summary>
    internal const string UnmigratedTable = "media_assets_unmigrated";

    /// <summary>The session temp table a verification (and the drop) fills with every legacy row and its flags.</summary>
    internal const string VerifyRowsTable = "stefna_verify_rows";

    /// <summary>The legacy columns, in the order staging and import tables hold them.</summary>
    internal const string LegacyColumns = "id, user_id, url, prompt, preset_key, meta, created_at";

    private const string Ws = "E' \\t\\r\\n'";

    private const string EmptyObject = "'{}'::jsonb";

    public LegacySql(LegacyClassifier classifier, string uuidV5Expression)
    {
        Classifier = classifier;
        Types = [.. classifier.Rules.Select(r => r.Type)];
        UuidV5 = uuidV5Expression;
    }

    public LegacyClassifier Classifier { get; }

    /// <summary>The types, indexed by class.</summary>
    public IReadOnlyList<GenerationTypeDefinition> Types { get; }

    /// <summary>A format string: <c>{0}</c> is a text expression; the result is its version-5 UUID.</summary>
    public string UuidV5 { get; }

    /// <summary>The version-5 UUID expression (a format string, <c>{0}</c> the name) over an installed extension:
    /// <c>uuid-ossp</c>'s <c>uuid_generate_v5</c>, or SHA-1 from <c>pgcrypto</c> with the version and variant bits set
    /// by hand (RFC 9562 §5.5).</summary>
    public static string UuidV5Expression(string extension, string schema)
    {
        var s = "\"" + schema.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var ns = Literal(LegacyIds.Namespace.ToString()) + "::uuid";
        return extension == "uuid-ossp"
            ? $"{s}.uuid_generate_v5({ns}, {{0}})"
            : $"(SELECT encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 80), 8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid FROM (SELECT substring({s}.digest(uuid_send({ns}) || convert_to({{0}}, 'UTF8'), 'sha1') FROM 1 FOR 16) AS h) d)";
    }

    /// <summary>SQL for <see cref="LegacyClassifier.NormalizeSignal"/>: trim, ASCII lower-case, <c>_</c> as <c>-</c>.</summary>
    public static string Normalize(string expression) =>
        $"translate(btrim({expression}, {Ws}), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_', 'abcdefghijklmnopqrstuvwxyz-')";

    public static string Blank(string expression) => $"({expression} IS NULL OR btrim({expression}, {Ws}) = '')";

    /// <summary>A SQL string literal (standard_conforming_strings: only quotes are doubled).</summary>
    public static string Literal(string value)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A NUL character cannot appear in a PostgreSQL text value.", nameof(value));
        }

        return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>The row id for the legacy id expression: its UUID when canonical, its version-5 UUID otherwise.</summary>
    public string RowId(string id) =>
        $"(CASE WHEN length({id}) = 36 AND {id} ~ '^[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}$' THEN {id}::uuid ELSE {string.Format(CultureInfo.InvariantCulture, UuidV5, id)} END)";

    /// <summary>
    /// <c>SELECT</c> of every legacy column plus <c>new_id</c> and <c>cls</c> over <paramref name="source"/> (alias
    /// <c>l</c>); <paramref name="where"/> is an optional filter.
    /// </summary>
    public string ClassifiedSelect(string source, string? where = null)
    {
        var gt = $"CASE WHEN jsonb_typeof(l.meta) = 'object' THEN {Normalize("l.meta->>'generation_type'")} END";
        var mode = $"CASE WHEN jsonb_typeof(l.meta) = 'object' THEN {Normalize("l.meta->>'mode'")} END";
        var pk = Normalize("l.preset_key");

        var g = ValueCase("n.gt", r => r.GenerationTypes);
        var m = ValueCase("n.md", r => r.Modes);
        var p = new StringBuilder("CASE");
        for (var i = 0; i < Classifier.Rules.Count; i++)
        {
            foreach (var prefix in Classifier.Rules[i].PresetKeyPrefixes)
            {
                p.Append(CultureInfo.InvariantCulture, $" WHEN starts_with(n.pk, {Literal(prefix)}) THEN {i}");
            }
        }

        for (var i = 0; i < Classifier.Rules.Count; i++)
        {
            if (Classifier.Rules[i].PresetKeys.Count > 0)
            {
                p.Append(CultureInfo.InvariantCulture, $" WHEN n.pk IN ({string.Join(", ", Classifier.Rules[i].PresetKeys.Select(Literal))}) THEN {i}");
            }
        }

        var pSql = p.Length == 4 ? "NULL::int" : p.Append(" END").ToString();
        var fallback = Classifier.PromptFallback is { } f
            ? $"CASE WHEN NOT {Blank("s.prompt")} AND s.pk = '' THEN {Index(f.Type)} ELSE {-(int)LegacyUnclassifiedReason.NoRuleMatched} END"
            : (-(int)LegacyUnclassifiedReason.NoRuleMatched).ToString(CultureInfo.InvariantCulture);
        const string first = "coalesce(s.g, s.m, s.p)";
        var cls = $"""
            CASE WHEN s.id IS NULL THEN {-(int)LegacyUnclassifiedReason.NoId}
                 WHEN {Blank("s.url")} THEN {-(int)LegacyUnclassifiedReason.NoUrl}
                 WHEN s.user_id IS NULL THEN {-(int)LegacyUnclassifiedReason.NoUserId}
                 WHEN {first} IS NULL THEN {fallback}
                 WHEN s.g <> {first} OR s.m <> {first} OR s.p <> {first} THEN {-(int)LegacyUnclassifiedReason.ConflictingSignals}
                 ELSE {first} END
            """;
        // OFFSET 0 fences keep PostgreSQL from inlining each signal into every place the decision reads it
        // (which would evaluate the same CASE many times per row).
        return $"""
            SELECT s.id, s.user_id, s.url, s.prompt, s.preset_key, s.meta, s.created_at, s.new_id, ({cls})::int AS cls
            FROM (
                SELECT n.*, {g} AS g, {m} AS m, {pSql} AS p
                FROM (
                    SELECT l.id, l.user_id, l.url, l.prompt, l.preset_key, l.meta, l.created_at, {RowId("l.id")} AS new_id,
                           {gt} AS gt, {mode} AS md, coalesce({pk}, '') AS pk
                    FROM {source} l
                    {(where is null ? string.Empty : "WHERE " + where)}
                    OFFSET 0) n
                OFFSET 0) s
            """;
    }

    /// <summary>The classified rows with <c>winner</c>: the one row per row id that is migrated, chosen among rows
    /// sharing a row id by content (classified rows first, then the oldest, then by the columns' text) so the choice
    /// never depends on the physical order of the table.</summary>
    public string RankedSelect(string source) => $"""
        SELECT c.*, (c.cls >= 0 AND row_number() OVER (PARTITION BY c.new_id ORDER BY {TieBreak}) = 1) AS winner
        FROM ({ClassifiedSelect(source)}) c
        """;

    private const string TieBreak =
        "c.cls < 0, c.created_at, c.id COLLATE \"C\", c.user_id COLLATE \"C\", c.url COLLATE \"C\", c.prompt COLLATE \"C\", c.preset_key COLLATE \"C\", c.meta::text COLLATE \"C\"";

    /// <summary>Whether a row id or legacy id is held by any type table (the expression reads <c>new_id</c>, <c>id</c>).</summary>
    public string PresentPredicate(string alias, IReadOnlyCollection<string>? existingTables = null)
    {
        var tables = Types.Select(t => t.TableName).Where(t => existingTables is null || existingTables.Contains(t)).ToList();
        if (tables.Count == 0)
        {
            return "false";
        }

        return "(" + string.Join(" OR ", tables.Select(t =>
            $"EXISTS (SELECT 1 FROM {PostgresSchema.Identifier(t)} x WHERE x.id = {alias}.new_id) OR EXISTS (SELECT 1 FROM {PostgresSchema.Identifier(t)} x WHERE x.legacy_id = {alias}.id)")) + ")";
    }

    /// <summary>Builds the staging table of a run from <paramref name="source"/>: every legacy row with a batch
    /// number <c>rn</c> (scan order: any order works, the table freezes it), its row id, class, whether it is its row
    /// id's winner and whether the new system held it before the run. Ranking only the rows whose row id repeats
    /// avoids sorting the whole table.</summary>
    public string CreateStaging(string source) => $"""
        DROP TABLE IF EXISTS {StagingTable};
        CREATE TABLE {StagingTable} AS
        SELECT row_number() OVER () AS rn, c.*, c.cls >= 0 AS winner, (c.cls >= 0 AND {PresentPredicate("c")}) AS present
        FROM ({ClassifiedSelect(source)}) c;
        UPDATE {StagingTable} s SET winner = false
        FROM (
            SELECT c.rn, row_number() OVER (PARTITION BY c.new_id ORDER BY {TieBreak}) AS k
            FROM {StagingTable} c
            WHERE c.cls >= 0 AND c.new_id IN (SELECT d.new_id FROM {StagingTable} d WHERE d.cls >= 0 GROUP BY d.new_id HAVING count(*) > 1)
        ) l
        WHERE l.k > 1 AND s.rn = l.rn;
        CREATE INDEX ON {StagingTable} USING brin (rn);
        ANALYZE {StagingTable};
        """;

    /// <summary>The insert of one batch (<c>@lo &lt; rn &lt;= @hi</c>) into every type table in one statement;
    /// returns per type the classified rows of the batch and the rows inserted.</summary>
    public string InsertBatch()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"WITH b AS MATERIALIZED (SELECT * FROM {StagingTable} WHERE rn > @lo AND rn <= @hi AND cls >= 0)");
        for (var i = 0; i < Types.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $",\ni{i} AS ({InsertInto(Types[i], i, "b", "b.winner AND NOT b.present")} RETURNING id)");
        }

        // The rows written, in the same statement (and so the same transaction) as the rows themselves.
        sb.Append(CultureInfo.InvariantCulture, $",\nw AS (INSERT INTO {WrittenTable} (type, id) ");
        sb.Append(string.Join(" UNION ALL ", Types.Select((t, i) => $"SELECT {Literal(t.Name)}, id FROM i{i}")));
        sb.Append(')');

        sb.Append("\nSELECT ");
        sb.Append(string.Join(", ", Types.Select((_, i) => $"(SELECT count(*) FROM b WHERE cls = {i}), (SELECT count(*) FROM i{i})")));
        return sb.ToString();
    }

    /// <summary>The mapped insert of class <paramref name="index"/> from rows aliased <paramref name="alias"/>.</summary>
    public static string InsertInto(GenerationTypeDefinition type, int index, string alias, string condition)
    {
        var extras = type.ExtraColumns;
        var columns = "id, user_id, status, prompt, preset, image_url, tags, meta, attempts, legacy_id, created_at, updated_at"
            + string.Concat(extras.Select(c => ", " + PostgresSchema.Identifier(c)));
        var extraValues = string.Concat(extras.Select(c => $", CASE WHEN jsonb_typeof({alias}.meta) = 'object' THEN {alias}.meta->>{Literal(c)} END"));
        return $"""
            INSERT INTO {PostgresSchema.Identifier(type.TableName)} ({columns})
            SELECT {alias}.new_id, {alias}.user_id, 'completed', {alias}.prompt, {alias}.preset_key, {alias}.url, {Tags(type, alias)},
                   coalesce({alias}.meta, {EmptyObject}), 0, {alias}.id, coalesce({alias}.created_at, @started), coalesce({alias}.created_at, @started){extraValues}
            FROM {alias} WHERE {alias}.cls = {index} AND {condition}
            ON CONFLICT DO NOTHING
            """;
    }

    /// <summary>The type's tag, then the distinct non-blank strings of a <c>meta.tags</c> array, in their order.</summary>
    private static string Tags(GenerationTypeDefinition type, string alias) => $"""
        ARRAY[{Literal(type.Name)}]::text[] || CASE WHEN jsonb_typeof({alias}.meta -> 'tags') = 'array' THEN ARRAY(
            SELECT t.e FROM jsonb_array_elements_text({alias}.meta -> 'tags') WITH ORDINALITY AS t(e, o)
            WHERE t.e IS NOT NULL AND btrim(t.e, {Ws}) <> '' AND t.e <> {Literal(type.Name)}
            GROUP BY t.e ORDER BY min(t.o)) ELSE ARRAY[]::text[] END
        """;

    /// <summary>The per-row checksum of the legacy side's content columns, as the target should hold them.
    /// Timestamps as epoch seconds and jsonb in its canonical text, so session settings never change it.</summary>
    public static string LegacyRowHash(string alias) =>
        $"md5(ROW({alias}.new_id::text, {alias}.user_id, {alias}.url, {alias}.prompt, {alias}.preset_key, coalesce({alias}.meta, '{{}}'::jsonb)::text, extract(epoch FROM {alias}.created_at)::text)::text)";

    /// <summary>The same checksum over a target row; <paramref name="ignoreCreated"/> drops created_at (legacy null).</summary>
    public static string TargetRowHash(string alias, string ignoreCreated) =>
        $"md5(ROW({alias}.id::text, {alias}.user_id, {alias}.image_url, {alias}.prompt, {alias}.preset, {alias}.meta::text, CASE WHEN {ignoreCreated} THEN NULL ELSE extract(epoch FROM {alias}.created_at)::text END)::text)";

    /// <summary>count and order-independent checksum of the whole legacy table (the fingerprint verifications keep).</summary>
    public static string Fingerprint(string source) => $"""
        SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(l.id, l.user_id, l.url, l.prompt, l.preset_key, l.meta::text, extract(epoch FROM l.created_at)::text)::text), 1, 15))::bit(60)::bigint), 0)::text
        FROM {source} l
        """;

    /// <summary>The type name of class <paramref name="cls"/> (a SQL expression), null for an unclassified row.</summary>
    public string TypeName(string cls) =>
        $"(ARRAY[{string.Join(", ", Types.Select(t => Literal(t.Name)))}]::text[])[{cls} + 1]";

    /// <summary>Whether the type table of the row's class holds its row id with exactly its content (alias
    /// <paramref name="alias"/> with <c>new_id</c>, <c>cls</c>, <c>created_at</c> and <c>h</c>, the legacy hash).</summary>
    public string HeldIdentical(string alias)
    {
        var sb = new StringBuilder($"CASE {alias}.cls");
        for (var i = 0; i < Types.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $" WHEN {i} THEN EXISTS (SELECT 1 FROM {PostgresSchema.Identifier(Types[i].TableName)} x WHERE x.id = {alias}.new_id AND {TargetRowHash("x", alias + ".created_at IS NULL")} = {alias}.h)");
        }

        return sb.Append(" ELSE false END").ToString();
    }

    /// <summary>The reason text of an unclassified class (a SQL expression over <paramref name="cls"/> &lt; 0).</summary>
    public static string ReasonText(string cls) =>
        "CASE -" + cls + string.Concat(Enum.GetValues<LegacyUnclassifiedReason>().Select(r => $" WHEN {(int)r} THEN {Literal(LegacyClassifier.ReasonText(r))}")) + " END";

    public int Index(GenerationTypeDefinition type)
    {
        for (var i = 0; i < Types.Count; i++)
        {
            if (ReferenceEquals(Types[i], type) || Types[i].Name == type.Name)
            {
                return i;
            }
        }

        throw new ArgumentException($"Unknown type {type.Name}.", nameof(type));
    }

    private string ValueCase(string column, Func<LegacyTypeRule, IReadOnlyList<string>> values)
    {
        var sb = new StringBuilder($"CASE {column}");
        var any = false;
        for (var i = 0; i < Classifier.Rules.Count; i++)
        {
            foreach (var value in values(Classifier.Rules[i]))
            {
                sb.Append(CultureInfo.InvariantCulture, $" WHEN {Literal(value)} THEN {i}");
                any = true;
            }
        }

        return any ? sb.Append(" END").ToString() : "NULL::int";
    }
}
