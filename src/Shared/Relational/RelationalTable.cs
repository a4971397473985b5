using System.Globalization;
using System.Text;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Relational;

/// <summary>One type's table and the statements both databases run on it the same way, built once from its validated
/// definition. Each store keeps the statements its database does its own way (the claim, renewals, parking) beside.</summary>
internal class RelationalTable
{
    public RelationalTable(RelationalDialect dialect, GenerationTypeDefinition definition)
    {
        Definition = definition;
        Quoted = RelationalDialect.Quote(definition.TableName);
        var extras = definition.ExtraColumns.Select(RelationalDialect.Quote).ToArray();
        Columns = JobSchema.SelectList + string.Concat(extras.Select(c => ", " + c));

        var names = new StringBuilder("id, user_id, status, prompt, preset, source_image_url, tags, meta, attempts, idempotency_key, created_at, updated_at");
        var values = new StringBuilder("@id, @user_id, 'queued', @prompt, @preset, @source_image_url, @tags, @meta, 0, @idempotency_key, @created_at, @created_at");
        for (var i = 0; i < extras.Length; i++)
        {
            names.Append(", ").Append(extras[i]);
            values.Append(", @").Append(ExtraParameter(i));
        }

        // A second insert with the user's idempotency key inserts nothing and returns no row (see RelationalJobs).
        Insert = $"""
            INSERT INTO {Quoted} ({names}) VALUES ({values})
            ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING {Columns}{dialect.InsertReturnsAlso}
            """;
        Get = $"SELECT {Columns} FROM {Quoted} WHERE id = @id AND user_id = @user_id";
        FindByIdempotencyKey = $"SELECT {Columns} FROM {Quoted} WHERE user_id = @user_id AND idempotency_key = @idempotency_key";
        CountUnfinished = $"SELECT count(*) FROM {Quoted} WHERE {JobSchema.Unfinished}";
        QueueSnapshot = $"SELECT count(*), min(created_at) FROM {Quoted} WHERE status = 'queued'";
        FeedColumns = $"{JobSchema.SelectList}, {dialect.ColumnsAsJson(definition.ExtraColumns)} AS extra_columns";
    }

    public GenerationTypeDefinition Definition { get; }

    /// <summary>The table's quoted name.</summary>
    public string Quoted { get; }

    /// <summary>The select list every statement returning jobs of this table uses: the common columns in
    /// <see cref="JobSchema"/> order, then the type's own.</summary>
    public string Columns { get; }

    public string Insert { get; }

    public string Get { get; }

    public string FindByIdempotencyKey { get; }

    public string CountUnfinished { get; }

    public string QueueSnapshot { get; }

    /// <summary>The feed's select list: the common columns, then the type's own as one JSON object.</summary>
    public string FeedColumns { get; }

    /// <summary>The name of the insert parameter of the type's <paramref name="index"/>th own column.</summary>
    public static string ExtraParameter(int index) => "x" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>A single-job write under the lease guard (<see cref="JobSchema.LeaseGuard"/>), setting
    /// <c>updated_at</c> to <paramref name="now"/>.</summary>
    public string GuardedUpdate(string set, string now) => $"UPDATE {Quoted} SET {set}, updated_at = {now} WHERE {JobSchema.LeaseGuard}";

    /// <summary>Cancels the user's job when it is unfinished and returns it (no row otherwise).</summary>
    public string Cancel(string now) => $"""
        UPDATE {Quoted} SET {JobWrites.Cancel}, updated_at = {now}
        WHERE id = @id AND user_id = @user_id AND {JobSchema.Unfinished}
        RETURNING {Columns}
        """;
}
