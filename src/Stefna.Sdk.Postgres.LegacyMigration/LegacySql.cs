using System.Globalization;
using System.Text;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// Compiles the <see cref="LegacyClassifier"/> rules into SQL, so PostgreSQL classifies and maps rows set-based
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
    public string InsertInto(GenerationTypeDefinition type, int index, string alias, string condition)
    {
        var derived = Derived(type, alias);
        var columns = string.Join(", ", derived.Select(d => PostgresSchema.Identifier(d.Column))) + ", status, attempts, updated_at";
        var values = string.Join(", ", derived.Select(d => d.Column == "created_at" ? $"coalesce({alias}.created_at, @started)" : d.Expected));
        return $"""
            INSERT INTO {PostgresSchema.Identifier(type.TableName)} ({columns})
            SELECT {values}, 'completed', 0, coalesce({alias}.created_at, @started)
            FROM {alias} WHERE {alias}.cls = {index} AND {condition}
            ON CONFLICT DO NOTHING
            """;
    }

    /// <summary>Every column of <paramref name="type"/>'s table the migration derives from a legacy row (alias
    /// <paramref name="alias"/>, with <c>new_id</c>), with the SQL of its value: the insert writes exactly these, and the
    /// verification compares exactly these. <c>created_at</c>'s expression is the legacy value (the insert puts the
    /// run's start in for null; the verification then skips it). Not derived from the row: <c>status</c> completed,
    /// <c>attempts</c> 0, <c>updated_at</c> (= <c>created_at</c>).</summary>
    public IReadOnlyList<(string Column, string Expected)> Derived(GenerationTypeDefinition type, string alias)
    {
        var derived = new List<(string Column, string Expected)>
        {
            ("id", $"{alias}.new_id"),
            ("user_id", $"{alias}.user_id"),
            ("prompt", $"{alias}.prompt"),
            ("preset", Preset(type, alias)),
            ("image_url", $"{alias}.url"),
            ("tags", Tags(type, alias)),
            ("meta", Meta(type, alias)),
            ("legacy_id", $"{alias}.id"),
            ("created_at", $"{alias}.created_at"),
        };
        derived.AddRange(type.ExtraColumns.Select(c => (c, $"CASE WHEN jsonb_typeof({alias}.meta) = 'object' THEN {alias}.meta->>{Literal(c)} END")));
        return derived;
    }

    /// <summary>The preset a row of <paramref name="type"/> stores (<see cref="LegacyClassification.Preset"/>): the
    /// catalogue's key when <c>preset_key</c> normalises to one (<see cref="LegacyTypeRule.CatalogKeys"/>) and the
    /// original can be kept in <c>meta</c> (null, or an object without <c>legacy_preset_key</c>); else as written.</summary>
    public string Preset(GenerationTypeDefinition type, string alias)
    {
        var keys = CatalogKeys(type);
        if (keys.Count == 0)
        {
            return $"{alias}.preset_key";
        }

        var map = string.Concat(keys.Select(k => $" WHEN {Literal(k.Key)} THEN {Literal(k.Value)}"));
        return $"coalesce(CASE WHEN {alias}.meta IS NULL OR (jsonb_typeof({alias}.meta) = 'object' AND {alias}.meta -> {Literal(LegacyClassifier.LegacyPresetKeyMetaKey)} IS NULL) THEN CASE {Normalize(alias + ".preset_key")}{map} END END, {alias}.preset_key)";
    }

    /// <summary>The <c>meta</c> a row of <paramref name="type"/> stores: the legacy <c>meta</c> (null as <c>{}</c>),
    /// plus <c>legacy_preset_key</c> with the original key when <see cref="Preset"/> stores the catalogue's spelling.</summary>
    public string Meta(GenerationTypeDefinition type, string alias) => CatalogKeys(type).Count == 0
        ? $"coalesce({alias}.meta, {EmptyObject})"
        : $"CASE WHEN {Preset(type, alias)} IS DISTINCT FROM {alias}.preset_key THEN coalesce({alias}.meta, {EmptyObject}) || jsonb_build_object({Literal(LegacyClassifier.LegacyPresetKeyMetaKey)}, {alias}.preset_key) ELSE coalesce({alias}.meta, {EmptyObject}) END";

    /// <summary>The stored preset of a row of any class (<c>cls</c>), null for an unclassified row: what
    /// <see cref="LegacyClassification.Preset"/> says in C#.</summary>
    public string PresetOfClass(string alias)
    {
        var sb = new StringBuilder($"CASE {alias}.cls");
        for (var i = 0; i < Types.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $" WHEN {i} THEN {Preset(Types[i], alias)}");
        }

        return sb.Append(" END").ToString();
    }

    private IReadOnlyDictionary<string, string> CatalogKeys(GenerationTypeDefinition type) => Classifier.Rules[Index(type)].CatalogKeys;

    /// <summary>The type's tag, then the distinct non-blank strings of a <c>meta.tags</c> array, in their order.</summary>
    private static string Tags(GenerationTypeDefinition type, string alias) => $"""
        ARRAY[{Literal(type.Name)}]::text[] || CASE WHEN jsonb_typeof({alias}.meta -> 'tags') = 'array' THEN ARRAY(
            SELECT t.e FROM jsonb_array_elements_text({alias}.meta -> 'tags') WITH ORDINALITY AS t(e, o)
            WHERE t.e IS NOT NULL AND btrim(t.e, {Ws}) <> '' AND t.e <> {Literal(type.Name)}
            GROUP BY t.e ORDER BY min(t.o)) ELSE ARRAY[]::text[] END
        """;

    /// <summary>The per-row checksum of what the type table should hold for a legacy row (alias with <c>new_id</c> and
    /// <c>cls</c>): every column of <see cref="Derived"/> of the row's type, null for an unclassified row. Timestamps as
    /// epoch seconds and jsonb in its canonical text, so session settings never change it.</summary>
    public string LegacyRowHash(string alias)
    {
        var sb = new StringBuilder($"CASE {alias}.cls");
        for (var i = 0; i < Types.Count; i++)
        {
            var parts = Derived(Types[i], alias).Select(d => d.Column switch
            {
                "id" => d.Expected + "::text",
                "meta" => $"({d.Expected})::text",
                "created_at" => $"extract(epoch FROM {d.Expected})::text",
                _ => d.Expected,
            });
            sb.Append(CultureInfo.InvariantCulture, $" WHEN {i} THEN md5(ROW({string.Join(", ", parts)})::text)");
        }

        return sb.Append(" END").ToString();
    }

    /// <summary>The same checksum over a row of <paramref name="type"/>'s table; <paramref name="ignoreCreated"/> drops
    /// created_at (legacy null).</summary>
    public string TargetRowHash(GenerationTypeDefinition type, string alias, string ignoreCreated)
    {
        var parts = Derived(type, alias).Select(d => d.Column switch
        {
            "id" => $"{alias}.id::text",
            "meta" => $"{alias}.meta::text",
            "created_at" => $"CASE WHEN {ignoreCreated} THEN NULL ELSE extract(epoch FROM {alias}.created_at)::text END",
            _ => $"{alias}.{PostgresSchema.Identifier(d.Column)}",
        });
        return $"md5(ROW({string.Join(", ", parts)})::text)";
    }

    /// <summary>The checksum of a legacy row's own content (row id, user id, url, prompt, preset_key, meta, created_at),
    /// for rows the new system held before the migration: whether its table holds that content as it is.</summary>
    public static string LegacyContentHash(string alias) =>
        $"md5(ROW({alias}.new_id::text, {alias}.user_id, {alias}.url, {alias}.prompt, {alias}.preset_key, coalesce({alias}.meta, '{{}}'::jsonb)::text, extract(epoch FROM {alias}.created_at)::text)::text)";

    /// <summary>The same content checksum over a target row; <paramref name="ignoreCreated"/> drops created_at.</summary>
    public static string TargetContentHash(string alias, string ignoreCreated) =>
        $"md5(ROW({alias}.id::text, {alias}.user_id, {alias}.image_url, {alias}.prompt, {alias}.preset, {alias}.meta::text, CASE WHEN {ignoreCreated} THEN NULL ELSE extract(epoch FROM {alias}.created_at)::text END)::text)";

    /// <summary>The columns of a row of <paramref name="type"/>'s table (alias <paramref name="target"/>) that differ
    /// from what the legacy row (alias <paramref name="legacy"/>) derives, as a comma-separated list.</summary>
    public string DifferingColumns(GenerationTypeDefinition type, string target, string legacy) =>
        "concat_ws(', '" + string.Concat(Derived(type, legacy).Where(d => d.Column != "id").Select(d => d.Column == "created_at"
            ? $", CASE WHEN {legacy}.created_at IS NOT NULL AND {target}.created_at IS DISTINCT FROM {legacy}.created_at THEN 'created_at' END"
            : $", CASE WHEN {target}.{PostgresSchema.Identifier(d.Column)} IS DISTINCT FROM {d.Expected} THEN {Literal(d.Column)} END")) + ")";

    /// <summary>count and order-independent checksum of the whole legacy table (the fingerprint verifications keep).</summary>
    public static string Fingerprint(string source) => $"""
        SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(l.id, l.user_id, l.url, l.prompt, l.preset_key, l.meta::text, extract(epoch FROM l.created_at)::text)::text), 1, 15))::bit(60)::bigint), 0)::text
        FROM {source} l
        """;

    /// <summary>The type name of class <paramref name="cls"/> (a SQL expression), null for an unclassified row.</summary>
    public string TypeName(string cls) =>
        $"(ARRAY[{string.Join(", ", Types.Select(t => Literal(t.Name)))}]::text[])[{cls} + 1]";

    /// <summary>Whether the type table of the row's class holds its row id with exactly its content (alias
    /// <paramref name="alias"/> with <c>new_id</c>, <c>cls</c>, <c>created_at</c>, <c>held</c> and <c>h</c>, the
    /// legacy hash): for a row the new system held before, its own content (<see cref="LegacyContentHash"/>); for every
    /// other row, every derived column (<see cref="LegacyRowHash"/>).</summary>
    public string HeldIdentical(string alias)
    {
        var sb = new StringBuilder($"CASE {alias}.cls");
        for (var i = 0; i < Types.Count; i++)
        {
            var t = PostgresSchema.Identifier(Types[i].TableName);
            var ignore = alias + ".created_at IS NULL";
            sb.Append(CultureInfo.InvariantCulture, $" WHEN {i} THEN CASE WHEN {alias}.held THEN EXISTS (SELECT 1 FROM {t} x WHERE x.id = {alias}.new_id AND {TargetContentHash("x", ignore)} = {LegacyContentHash(alias)})");
            sb.Append(CultureInfo.InvariantCulture, $" ELSE EXISTS (SELECT 1 FROM {t} x WHERE x.id = {alias}.new_id AND {TargetRowHash(Types[i], "x", ignore)} = {alias}.h) END");
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
