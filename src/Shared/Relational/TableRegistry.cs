using System.Collections.Frozen;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Relational;

/// <summary>The type tables a store was initialised with, by type name. Copy-on-write: readers never lock, and a later
/// <c>InitializeAsync</c> may add types (a new table on a live database).</summary>
internal sealed class TableRegistry<TTable>(RelationalDialect dialect, Func<GenerationTypeDefinition, TTable> create)
    where TTable : RelationalTable
{
    private readonly Lock _gate = new();
    private FrozenDictionary<string, TTable> _tables = FrozenDictionary<string, TTable>.Empty;

    /// <summary>Every table, for a feed that names no type.</summary>
    public IEnumerable<TTable> All => _tables.Values;

    /// <summary>Adds (or rebuilds) the tables of <paramref name="types"/>.</summary>
    public void Register(IEnumerable<GenerationTypeDefinition> types)
    {
        lock (_gate)
        {
            var tables = new Dictionary<string, TTable>(_tables, StringComparer.Ordinal);
            foreach (var type in types)
            {
                tables[type.Name] = create(type);
            }

            _tables = tables.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    /// <summary>The table of <paramref name="type"/>; a type the store was not initialised with is refused the same
    /// way on both stores.</summary>
    public TTable Get(string? type) => _tables.TryGetValue(type ?? string.Empty, out var table) ? table : throw dialect.NoTable(type);
}
