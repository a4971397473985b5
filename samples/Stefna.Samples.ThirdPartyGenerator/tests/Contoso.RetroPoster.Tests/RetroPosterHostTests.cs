using Contoso.RetroPoster;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Webhooks;

namespace Contoso.RetroPoster.Tests;

/// <summary>Retro Poster as an app would use it: one call registers it, a generic host runs the worker.</summary>
public sealed class RetroPosterHostTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "retro-poster-tests", Guid.NewGuid().ToString("N"));

    // The host's SQLite store clears its own file's pool when the host is disposed. No SqliteConnection.ClearAllPools():
    // it clears every pool in the process and can dispose the handle of a connection a parallel test is opening.
    public void Dispose()
    {
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

    /// <summary>Retro Poster on its own store (<c>UseRetroPosterStore</c>) beside a built-in type on the SQLite default:
    /// submit, status and cancel go to each type's store, the store outlives a restart of the host, the worker completes
    /// the jobs of both stores, and the unified feed pages across both in one order.</summary>
    [Fact]
    public async Task Retro_poster_on_its_own_store_beside_a_built_in_type_on_the_sqlite_default()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var storeFolder = Path.Combine(_folder, "retro-poster-store");
        var database = Path.Combine(_folder, "stefna.db");
        IHost Build(bool runWorker)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddStefna(o => o.RunWorker = runWorker)
                .AddRetroPoster().UseRetroPosterStore(storeFolder)
                .AddCustomPrompt()
                .UseSqlite(database)
                .UseLocalFileStorage(Path.Combine(_folder, "images"))
                .UseOfflineProvider();
            return builder.Build();
        }

        // Without a worker: submit to both stores, read and cancel where each job lives.
        Guid posterId, canceledId, customId;
        using (var host = Build(runWorker: false))
        {
            await host.StartAsync(timeout.Token);
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            posterId = (await pipeline.SubmitAsync(RetroPosterConformanceTests.Request(era: "eighties", headline: "Night Drive"), timeout.Token)).Id;
            canceledId = (await pipeline.SubmitAsync(RetroPosterConformanceTests.Request(era: "fifties"), timeout.Token)).Id;
            customId = (await pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "poster-fan", Prompt = "a lighthouse at dawn" }, timeout.Token)).Id;

            Assert.Equal(GenerationStatus.Queued, (await pipeline.GetStatusAsync(RetroPosterGenerator.TypeName, posterId, "poster-fan", timeout.Token))?.Status);
            Assert.Null(await pipeline.GetStatusAsync(RetroPosterGenerator.TypeName, posterId, "someone-else", timeout.Token));
            Assert.Equal(GenerationStatus.Canceled, (await pipeline.CancelAsync(RetroPosterGenerator.TypeName, canceledId, "poster-fan", timeout.Token))?.Status);
            await host.StopAsync(CancellationToken.None);
        }

        // Retro Poster's jobs are documents of its own store, not rows of the default store.
        Assert.True(File.Exists(Path.Combine(storeFolder, RetroPosterGenerator.TableName, posterId.ToString("D") + ".json")));
        Assert.Contains("\"status\":\"Canceled\"", await File.ReadAllTextAsync(Path.Combine(storeFolder, RetroPosterGenerator.TableName, canceledId.ToString("D") + ".json"), timeout.Token), StringComparison.Ordinal);
        Assert.Null(await CountAsync(database, RetroPosterGenerator.TableName, timeout.Token));
        Assert.Equal(1, await CountAsync(database, "custom_prompt_media", timeout.Token));

        // A host with the worker, on the same stores, completes the queued jobs of both.
        using (var host = Build(runWorker: true))
        {
            await host.StartAsync(timeout.Token);
            try
            {
                var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
                var poster = await pipeline.WaitForCompletionAsync(RetroPosterGenerator.TypeName, posterId, "poster-fan", TimeSpan.FromMinutes(1), timeout.Token);
                var custom = await pipeline.WaitForCompletionAsync("custom-prompt", customId, "poster-fan", TimeSpan.FromMinutes(1), timeout.Token);
                Assert.Equal((GenerationStatus.Completed, GenerationStatus.Completed), (poster.Status, custom.Status));
                Assert.Equal(("eighties", "Night Drive"), (poster.GetColumn("era"), poster.GetColumn("headline")));
                Assert.True(File.Exists(new Uri(poster.ImageUrl!).LocalPath));
                Assert.Equal(GenerationStatus.Canceled, (await pipeline.GetStatusAsync(RetroPosterGenerator.TypeName, canceledId, "poster-fan", timeout.Token))?.Status);

                // The unified feed: one page across both stores, and the same order a page at a time.
                var feed = await pipeline.GetFeedAsync(new FeedQuery { UserId = "poster-fan", Limit = 10 }, timeout.Token);
                Assert.Equal(new[] { posterId, canceledId, customId }.Order(), feed.Items.Select(j => j.Id).Order());
                Assert.Null(feed.NextCursor);
                var paged = new List<Guid>();
                string? cursor = null;
                do
                {
                    var page = await pipeline.GetFeedAsync(new FeedQuery { UserId = "poster-fan", Limit = 1, Cursor = cursor }, timeout.Token);
                    paged.AddRange(page.Items.Select(j => j.Id));
                    cursor = page.NextCursor;
                }
                while (cursor is not null && paged.Count < 10);

                Assert.Equal(feed.Items.Select(j => j.Id), paged);
                var onlyPosters = await pipeline.GetFeedAsync(new FeedQuery { UserId = "poster-fan", Types = [RetroPosterGenerator.TypeName], Status = GenerationStatus.Completed }, timeout.Token);
                Assert.Equal([posterId], onlyPosters.Items.Select(j => j.Id));
            }
            finally
            {
                await host.StopAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>Retro Poster's own store keeps no webhook outbox, so a webhook URL is refused for it, naming the type,
    /// while the type beside it on the SQLite default takes one.</summary>
    [Fact]
    public async Task A_webhook_url_is_refused_for_retro_poster_on_its_own_store_and_taken_beside_it()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o => o.RunWorker = false)
            .AddRetroPoster().UseRetroPosterStore(Path.Combine(_folder, "retro-poster-store"))
            .AddCustomPrompt()
            .UseSqlite(Path.Combine(_folder, "stefna.db"))
            .UseLocalFileStorage(Path.Combine(_folder, "images"))
            .UseOfflineProvider();
        builder.Services.Configure<StefnaWebhookOptions>(o =>
        {
            o.Secrets.Add("whsec_" + Convert.ToBase64String(new byte[32]));
            o.AllowPrivateUrls = true;
            o.RunDelivery = false;
        });
        using var host = builder.Build();
        var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
        var hook = new Uri("http://127.0.0.1:9/hook");

        var accepted = await pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "poster-fan", Prompt = "a lighthouse", WebhookUrl = hook });
        var refused = await Assert.ThrowsAsync<GenerationValidationException>(() => pipeline.SubmitAsync(RetroPosterConformanceTests.Request(era: "twenties", webhook: hook)));

        Assert.False(accepted.IsExisting);
        Assert.EndsWith("webhook_unsupported", refused.Code, StringComparison.Ordinal);
        Assert.Contains("'retro-poster'", refused.Message, StringComparison.Ordinal);
    }

    // The rows of a table of the SQLite default store, or null when the table does not exist.
    private static async Task<long?> CountAsync(string database, string table, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Pooling=False;Mode=ReadOnly");
        await connection.OpenAsync(cancellationToken);
        await using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @name";
        exists.Parameters.AddWithValue("@name", table);
        if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
        {
            return null;
        }

        await using var count = connection.CreateCommand();
        count.CommandText = $"SELECT count(*) FROM \"{table}\"";
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
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
