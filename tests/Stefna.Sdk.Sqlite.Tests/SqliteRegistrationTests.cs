using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

public sealed class SqliteRegistrationTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void UseSqlite_registers_the_store_as_the_media_store()
    {
        var path = _folder.File("data/registered.db");
        var services = new ServiceCollection();
        services.AddStefna().UseSqlite(path);
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<SqliteMediaStore>(provider.GetRequiredService<IMediaStore>());

        Assert.Equal(Path.GetFullPath(path), store.DatabasePath);
        Assert.Same(store, provider.GetRequiredService<IMediaStore>());
        Assert.False(File.Exists(path), "Nothing touches the disk before the store is initialised.");
    }

    [Fact]
    public void UseSqlite_options_are_validated_at_start()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseSqlite(o => o.BusyTimeout = TimeSpan.Zero);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(error.Failures, f => f.Contains("DatabasePath is required", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("BusyTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void UseSqlite_with_a_blank_path_is_refused_at_once()
    {
        var builder = new ServiceCollection().AddStefna();

        Assert.Throws<ArgumentException>(() => builder.UseSqlite(" "));
        Assert.Throws<ArgumentException>(() => new SqliteMediaStore(new SqliteStoreOptions()));
    }
}
