using System.Data.Common;

namespace Stefna.Sdk.Relational;

/// <summary>
/// What one database does its own way, and nothing else: how the few values stored differently are written and read
/// (an id as text or uuid, a time as UTC ticks or timestamptz, tags as a JSON array or text[]), identifier quoting,
/// parameter creation (parameters are named without prefix; both databases take <c>@name</c> placeholders in SQL), and
/// the handful of SQL fragments whose syntax differs. Every statement and flow shared by the
/// stores (<see cref="RelationalTable"/>, <see cref="RelationalJobs"/>) is written once against it.
/// </summary>
internal abstract class RelationalDialect
{
    /// <summary>The database's name, for messages.</summary>
    public abstract string DatabaseName { get; }

    /// <summary>The error for a type the store was not initialised with (the same on both stores).</summary>
    /// <param name="type">The type asked for.</param>
    /// <returns>The exception to throw.</returns>
    public InvalidOperationException NoTable(string? type) =>
        new($"The {DatabaseName} store has no table for generation type '{type}': it was not among the types passed to InitializeAsync.");

    /// <summary>Quotes an identifier after checking it is one of ours: lower-case letters, digits and underscores,
    /// starting with a letter or underscore, at most 63 characters (PostgreSQL would truncate a longer one silently).
    /// Identifiers come only from validated definitions; the check is belt and braces against injection.</summary>
    /// <param name="name">The identifier.</param>
    /// <returns>The identifier in double quotes.</returns>
    public static string Quote(string name)
    {
        if (name.Length is 0 or > 63 || !(name[0] is >= 'a' and <= 'z' or '_') || name.Any(c => c is not (>= 'a' and <= 'z' or >= '0' and <= '9' or '_')))
        {
            throw new ArgumentException($"'{name}' is not a valid identifier for the Stefna schema.", nameof(name));
        }

        return "\"" + name + "\"";
    }

    /// <summary>The SQL type name of a logical column type (for a type's own columns added to a table).</summary>
    /// <param name="type">The logical type.</param>
    /// <returns>The type name.</returns>
    public abstract string TypeName(ColumnType type);

    /// <summary>A parameter holding a job id.</summary>
    public abstract DbParameter Id(string name, Guid value);

    /// <summary>A parameter holding text, or NULL.</summary>
    public abstract DbParameter Text(string name, string? value);

    /// <summary>A parameter holding an integer.</summary>
    public abstract DbParameter Integer(string name, int value);

    /// <summary>A parameter holding a point in time.</summary>
    public abstract DbParameter Time(string name, DateTimeOffset value);

    /// <summary>A parameter holding a list of tags.</summary>
    public abstract DbParameter Tags(string name, IReadOnlyList<string> tags);

    /// <summary>A parameter holding a JSON object of text values (meta).</summary>
    public abstract DbParameter Json(string name, IReadOnlyDictionary<string, string> values);

    /// <summary>Reads a job id.</summary>
    public abstract Guid ReadId(DbDataReader reader, int ordinal);

    /// <summary>Reads a (non-null) point in time.</summary>
    public abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>Reads a (non-null) list of tags.</summary>
    public abstract IReadOnlyList<string> ReadTags(DbDataReader reader, int ordinal);

    /// <summary>Reads a nullable point in time.</summary>
    public DateTimeOffset? ReadNullableTime(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);

    /// <summary>A condition true when the row's tags hold <paramref name="tag"/> exactly (<c>neo</c> does not match
    /// <c>neo-tokyo</c>).</summary>
    /// <param name="tag">The placeholder of the tag.</param>
    /// <returns>The condition.</returns>
    public abstract string HasTag(string tag);

    /// <summary>A condition true when the row comes after the cursor in feed order (created_at DESC, id DESC).</summary>
    /// <param name="createdAt">The placeholder of the cursor's creation time.</param>
    /// <param name="id">The placeholder of the cursor's id.</param>
    /// <returns>The condition.</returns>
    public abstract string Before(string createdAt, string id);

    /// <summary>An expression giving a type's own columns as one JSON object text (so every table of the feed's
    /// union yields one row shape), or NULL when the type has none.</summary>
    /// <param name="columns">The type's own columns.</param>
    /// <returns>The expression.</returns>
    public abstract string ColumnsAsJson(IReadOnlyList<string> columns);

    /// <summary>The larger of two integer expressions.</summary>
    public abstract string Greatest(string a, string b);

    /// <summary>The smaller of two integer expressions.</summary>
    public abstract string Least(string a, string b);

    /// <summary>Extra expressions a job insert returns after the row (PostgreSQL: its queue notification).</summary>
    public virtual string InsertReturnsAlso => string.Empty;

    /// <summary>Adds the parameters <see cref="InsertReturnsAlso"/> uses.</summary>
    /// <param name="command">The insert command.</param>
    /// <param name="type">The job's type.</param>
    public virtual void AddInsertParameters(DbCommand command, string type)
    {
    }
}
