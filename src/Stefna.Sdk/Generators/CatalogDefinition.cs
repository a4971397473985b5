namespace Stefna.Sdk.Generators;

/// <summary>
/// A reference table a type's <c>preset</c> column points at (for example the professional preset catalogue). Stores
/// create it next to the type's table, keep its rows in step with <see cref="Entries"/>, and, where the database
/// supports it, make <c>preset</c> a foreign key to it.
/// </summary>
public sealed class CatalogDefinition
{
    /// <summary>Creates a catalogue.</summary>
    /// <param name="tableName">The catalogue table's name (a SQL identifier: lower-case letters, digits, underscores).</param>
    /// <param name="entries">The entries.</param>
    public CatalogDefinition(string tableName, IReadOnlyList<CatalogEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (!System.Text.RegularExpressions.Regex.IsMatch(tableName ?? string.Empty, "^[a-z][a-z0-9_]{0,62}$"))
        {
            throw new ArgumentException($"Catalogue table name '{tableName}' must be a lower-case SQL identifier.", nameof(tableName));
        }

        var duplicate = entries.GroupBy(e => e.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Catalogue key '{duplicate.Key}' appears more than once.", nameof(entries));
        }

        TableName = tableName!;
        Entries = [.. entries];
    }

    /// <summary>The catalogue table's name.</summary>
    public string TableName { get; }

    /// <summary>The entries, in catalogue order.</summary>
    public IReadOnlyList<CatalogEntry> Entries { get; }
}

/// <summary>One catalogue row.</summary>
/// <param name="Key">The key stored in the type table's <c>preset</c> column.</param>
/// <param name="Name">A display name.</param>
/// <param name="Description">A sentence on what it does.</param>
public sealed record CatalogEntry(string Key, string Name, string Description);
