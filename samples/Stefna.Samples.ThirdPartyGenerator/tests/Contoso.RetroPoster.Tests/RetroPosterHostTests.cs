using Contoso.RetroPoster;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk;

namespace Contoso.RetroPoster.Tests;

/// <summary>Retro Poster as an app would use it: one call registers it, a generic host runs the worker.</summary>
public sealed class RetroPosterHostTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "retro-poster-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task One_call_registers_the_type_and_a_hosted_worker_completes_a_job()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna().AddRetroPoster()
            .UseSqlite(Path.Combine(_folder, "stefna.db"))
            .UseLocalFileStorage(Path.Combine(_folder, "images"))
            .UseOfflineProvider();
        using var host = builder.Build();
        await host.StartAsync(timeout.Token);
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            Assert.Contains(pipeline.Types, t => t.Name == RetroPosterGenerator.TypeName);

            var ticket = await pipeline.SubmitAsync(RetroPosterConformanceTests.Request(era: "eighties", headline: "Night Drive"), timeout.Token);
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "poster-fan", TimeSpan.FromMinutes(1), timeout.Token);

            Assert.Equal(GenerationStatus.Completed, job.Status);
            Assert.Equal("eighties", job.GetColumn("era"));
            Assert.Equal("Night Drive", job.GetColumn("headline"));
            Assert.Contains("poster", job.Tags);
            Assert.True(File.Exists(new Uri(job.ImageUrl!).LocalPath));

            // The row lives in the type's own table, with its own columns.
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(_folder, "stefna.db")};Pooling=False");
            await connection.OpenAsync(timeout.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT status, era, headline FROM retro_poster_media WHERE id = @id";
            command.Parameters.AddWithValue("@id", ticket.Id.ToString("D"));
            await using var reader = await command.ExecuteReaderAsync(timeout.Token);
            Assert.True(await reader.ReadAsync(timeout.Token));
            Assert.Equal(("completed", "eighties", "Night Drive"), (reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna().AddRetroPoster(o => o.DefaultEra = "victorian")
            .UseSqlite(Path.Combine(_folder, "stefna.db"))
            .UseLocalFileStorage(Path.Combine(_folder, "images"))
            .UseOfflineProvider();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("DefaultEra 'victorian'", error.Message, StringComparison.Ordinal);
    }
}
