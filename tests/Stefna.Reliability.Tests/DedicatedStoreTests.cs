using Microsoft.Extensions.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk;
using Stefna.Sdk.Pipeline;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>A generation type with a store of its own (<c>UseSqlite(type, …)</c>, <c>UsePostgres(type, …)</c>,
/// <c>UseMediaStore(type, …)</c>): submit, status, cancel, the worker and the unified feed route to the type's store,
/// and the feed merges the stores' pages with the same cursor and order as one store.</summary>
public sealed class DedicatedStoreTests
{
    private const string User = "u-dedicated";

    [Fact]
    public async Task Each_type_on_its_own_sqlite_file_submits_runs_reads_and_cancels_there()
    {
        using var files = new TempDirectory();
        var neoFile = files.File("neo.db");
        var customFile = files.File("custom.db");
        await using var host = SdkHost.Start(b => b.UseSqlite("neo-glitch", neoFile).UseSqlite("custom-prompt", customFile));

        var neo = await host.RunAsync(new GenerationRequest { Type = "neo-glitch", UserId = User, Image = ImageInput.FromBytes(TestImages.Png(32, 32)), Options = new Dictionary<string, string> { ["style"] = "base" } });
        var custom = await host.RunAsync(new GenerationRequest { Type = "custom-prompt", UserId = User, Prompt = "a lighthouse at dawn" });
        var preset = await host.RunAsync(new GenerationRequest { Type = "emotion-mask", UserId = User, Image = ImageInput.FromBytes(TestImages.Png(32, 32)), Options = new Dictionary<string, string> { ["emotion"] = "joy" } });
        Assert.All([neo, custom, preset], j => Assert.Equal(GenerationStatus.Completed, j.Status));

        // Each row lives in its type's file and only there.
        Assert.Equal(1, await CountAsync(neoFile, "neo_glitch_media"));
        Assert.Equal(1, await CountAsync(customFile, "custom_prompt_media"));
        Assert.Equal(1, await CountAsync(Path.Combine(host.Data.Path, "stefna.db"), "emotion_mask_media"));
        Assert.Null(await CountAsync(Path.Combine(host.Data.Path, "stefna.db"), "neo_glitch_media"));
        Assert.Null(await CountAsync(Path.Combine(host.Data.Path, "stefna.db"), "custom_prompt_media"));
        Assert.Null(await CountAsync(neoFile, "custom_prompt_media"));

        // Status is read from the type's store, user-scoped there too.
        Assert.Equal(GenerationStatus.Completed, (await host.Pipeline.GetStatusAsync("neo-glitch", neo.Id, User))!.Status);
        Assert.Null(await host.Pipeline.GetStatusAsync("neo-glitch", neo.Id, "someone-else"));

        // The feed spans the three stores.
        var feed = await host.Pipeline.GetFeedAsync(new FeedQuery { UserId = User, Limit = 10 });
        Assert.Equal(new[] { neo.Id, custom.Id, preset.Id }.OrderBy(i => i), feed.Items.Select(j => j.Id).OrderBy(i => i));
        Assert.Null(feed.NextCursor);
    }

    /// <summary>WatchAsync follows a job kept in its type's own store to its end (read from that store, not the default).</summary>
    [Fact]
    public async Task A_job_in_a_dedicated_store_is_watched_to_its_end()
    {
        using var files = new TempDirectory();
        await using var host = SdkHost.Start(b => b.UseSqlite("custom-prompt", files.File("custom.db")));

        var ticket = await host.Pipeline.SubmitAsync(Request("custom-prompt", 1));
        var states = new List<GenerationStatus>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await foreach (var job in host.Pipeline.WatchAsync("custom-prompt", ticket.Id, User, timeout.Token))
        {
            states.Add(job.Status);
        }

        Assert.Equal(GenerationStatus.Completed, states[^1]);
        Assert.Equal(1, await CountAsync(files.File("custom.db"), "custom_prompt_media", "completed"));
    }

    /// <summary>A webhook URL is accepted for a type whose store keeps an outbox and refused, naming the type, for a type
    /// whose own store has none (before: the check looked at the default store only, and a host without a default
    /// store could not even be built).</summary>
    [Fact]
    public async Task A_webhook_url_is_checked_against_the_outbox_of_the_types_own_store()
    {
        await using var host = SdkHost.Start(
            b =>
            {
                b.UseMediaStore("custom-prompt", _ => new InMemoryMediaStore());
                b.Services.Configure<Stefna.Sdk.Webhooks.StefnaWebhookOptions>(o =>
                {
                    o.Secrets.Add("whsec_" + Convert.ToBase64String(new byte[32]));
                    o.AllowPrivateUrls = true;
                    o.RunDelivery = false;
                });
            },
            runWorker: false);
        var hook = new Uri("http://127.0.0.1:9/hook");

        var accepted = await host.Pipeline.SubmitAsync(Request("neo-glitch", 1, hook));
        var error = await Assert.ThrowsAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(Request("custom-prompt", 2, hook)));

        Assert.False(accepted.IsExisting);
        Assert.EndsWith("webhook_unsupported", error.Code, StringComparison.Ordinal);
        Assert.Contains("'custom-prompt'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_queued_job_in_a_dedicated_store_is_canceled_there()
    {
        using var files = new TempDirectory();
        var customFile = files.File("custom.db");
        await using var host = SdkHost.Start(b => b.UseSqlite("custom-prompt", customFile), runWorker: false);

        var ticket = await host.Pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = User, Prompt = "a fox" });
        var canceled = await host.Pipeline.CancelAsync("custom-prompt", ticket.Id, User);

        Assert.Equal(GenerationStatus.Canceled, canceled!.Status);
        Assert.Equal(1, await CountAsync(customFile, "custom_prompt_media", "canceled"));
    }

    /// <summary>Pages of the feed across three stores: the same items in the same order as the stores' own order
    /// (newest first, then the id's text descending, which is how SQLite's and PostgreSQL's <c>ORDER BY created_at DESC,
    /// id DESC</c> sort), with ties on the time across stores, and stable while newer jobs are inserted between pages.</summary>
    [Fact]
    public async Task The_feed_across_stores_pages_in_one_order_with_ties_and_is_stable_under_inserts()
    {
        using var files = new TempDirectory();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        await using var host = SdkHost.Start(
            b =>
            {
                b.Services.AddSingleton<TimeProvider>(clock);
                b.UseSqlite("neo-glitch", files.File("neo.db")).UseSqlite("custom-prompt", files.File("custom.db"));
            },
            runWorker: false);

        var types = new[] { "neo-glitch", "custom-prompt", "emotion-mask" };
        var submitted = new List<GenerationJob>();
        for (var i = 0; i < 27; i++)
        {
            // Three jobs (one per store) on each instant: the order between them is decided by the id alone.
            if (i % 3 == 0)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
            }

            var ticket = await host.Pipeline.SubmitAsync(Request(types[i % 3], i));
            submitted.Add((await host.Pipeline.GetStatusAsync(ticket.Type, ticket.Id, User))!);
        }

        var expected = submitted
            .OrderByDescending(j => j.CreatedAt.UtcTicks)
            .ThenByDescending(j => j.Id.ToString("D"), StringComparer.Ordinal)
            .Select(j => j.Id)
            .ToList();

        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await host.Pipeline.GetFeedAsync(new FeedQuery { UserId = User, Limit = 4, Cursor = cursor });
            seen.AddRange(page.Items.Select(j => j.Id));
            cursor = page.NextCursor;
            pages++;

            // Newer jobs arrive between pages; they belong before the first page, so the pages after do not change.
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await host.Pipeline.SubmitAsync(Request(types[pages % 3], 100 + pages));
        }
        while (cursor is not null);

        Assert.Equal(expected, seen);
        Assert.Equal(7, pages);
    }

    [Fact]
    public async Task A_type_store_for_an_unregistered_type_is_refused_at_start_naming_it()
    {
        using var files = new TempDirectory();
        await using var host = SdkHost.Start(b => b.UseSqlite("neo-glich", files.File("typo.db")), runWorker: false);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Pipeline.SubmitAsync(Request("neo-glitch", 1)));

        Assert.Contains("'neo-glich'", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a registered generation type", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_default_store_every_type_needs_its_own_and_the_missing_ones_are_named()
    {
        using var files = new TempDirectory();
        var services = new ServiceCollection().AddLogging();
        services.AddStefna(o => o.RunWorker = false)
            .AddNeoGlitch()
            .AddCustomPrompt()
            .UseLocalFileStorage(files.File("images"))
            .UseOfflineProvider()
            .UseSqlite("neo-glitch", files.File("neo.db"));
        await using var provider = services.BuildServiceProvider();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<IGenerationPipeline>().SubmitAsync(Request("neo-glitch", 1)));
        Assert.Contains("no media store is configured for 'custom-prompt'", error.Message, StringComparison.Ordinal);

        // With a store for each type there is no default store at all, and the host works.
        var complete = new ServiceCollection().AddLogging();
        complete.AddStefna(o => o.RunWorker = false)
            .AddNeoGlitch()
            .AddCustomPrompt()
            .UseLocalFileStorage(files.File("images"))
            .UseOfflineProvider()
            .UseSqlite("neo-glitch", files.File("neo.db"))
            .UseSqlite("custom-prompt", files.File("custom.db"));
        await using var ok = complete.BuildServiceProvider();
        var pipeline = ok.GetRequiredService<IGenerationPipeline>();
        await pipeline.SubmitAsync(Request("custom-prompt", 2));
        await ok.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, CancellationToken.None);
        Assert.Equal(1, await CountAsync(files.File("custom.db"), "custom_prompt_media", "completed"));
    }

    /// <summary>A type's store binds from <c>Stefna:Types:&lt;type&gt;:Sqlite</c>; a missing file path is refused at
    /// start-up naming that key.</summary>
    [Fact]
    public async Task A_type_store_binds_from_its_types_configuration_section_and_names_the_key_when_invalid()
    {
        using var files = new TempDirectory();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Stefna:RunWorker"] = "false",
            ["Stefna:Types:custom-prompt:Sqlite:DatabasePath"] = files.File("from-config.db"),
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddStefna(configuration.GetSection("Stefna")).AddCustomPrompt().AddNeoGlitch()
            .UseLocalFileStorage(files.File("images")).UseOfflineProvider()
            .UseSqlite("custom-prompt", _ => { }).UseSqlite("neo-glitch", _ => { });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Stefna.Sdk.Sqlite.SqliteStoreOptions>>().Get("neo-glitch"));
        Assert.Contains("Stefna:Types:neo-glitch:Sqlite:DatabasePath is required", error.Message, StringComparison.Ordinal);
        Assert.Equal(files.File("from-config.db"), provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Stefna.Sdk.Sqlite.SqliteStoreOptions>>().Get("custom-prompt").DatabasePath);
    }

    /// <summary>A type on PostgreSQL beside types on SQLite: the type's producer wakes on its store's NOTIFY. The
    /// worker host polls only every 10 minutes, and the job is submitted by another host (no in-process wake-up), so
    /// only the PostgreSQL store's notification can start it in time.</summary>
    [Fact]
    public async Task A_type_on_postgres_beside_sqlite_wakes_on_its_stores_notification()
    {
        var connection = await PostgresServer.CreateDatabaseAsync();
        try
        {
            using var shared = new TempDirectory();
            void Compose(IStefnaBuilder b) => b.UsePostgres("custom-prompt", connection).UseLocalFileStorage(shared.File("images"));
            await using var worker = SdkHost.Start(Compose, o => { o.IdlePollInterval = TimeSpan.FromMinutes(10); o.MaxIdlePollInterval = TimeSpan.FromMinutes(10); });
            await using var submitter = SdkHost.Start(Compose, runWorker: false);

            // Every producer of the worker host has made its first claim and is waiting.
            var claims = worker.Services.GetRequiredService<GenerationWorker>();
            await Eventually.HoldsAsync(() => claims.ClaimCalls >= 5, "the worker's five producers never made their first claims", TimeSpan.FromSeconds(60));

            var ticket = await submitter.Pipeline.SubmitAsync(Request("custom-prompt", 1));
            var done = await submitter.Pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, User, TimeSpan.FromMinutes(2));
            Assert.Equal(GenerationStatus.Completed, done.Status);

            // The row is in PostgreSQL, and the feed of the submitting host merges it with its SQLite types.
            await using var pg = new Npgsql.NpgsqlConnection(connection);
            await pg.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM custom_prompt_media WHERE status = 'completed'", pg);
            Assert.Equal(1L, await count.ExecuteScalarAsync());
            var preset = await submitter.Pipeline.SubmitAsync(Request("emotion-mask", 2));
            var feed = await submitter.Pipeline.GetFeedAsync(new FeedQuery { UserId = User, Limit = 1 });
            Assert.Equal(preset.Id, Assert.Single(feed.Items).Id);
            var next = await submitter.Pipeline.GetFeedAsync(new FeedQuery { UserId = User, Limit = 1, Cursor = feed.NextCursor });
            Assert.Equal(ticket.Id, Assert.Single(next.Items).Id);
            Assert.Null(next.NextCursor);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connection);
        }
    }

    private static GenerationRequest Request(string type, int n, Uri? webhook = null) => type switch
    {
        "neo-glitch" => new GenerationRequest { Type = type, UserId = User, WebhookUrl = webhook, Image = ImageInput.FromBytes(TestImages.Png(16, 16)), Options = new Dictionary<string, string> { ["style"] = "base" } },
        "emotion-mask" => new GenerationRequest { Type = type, UserId = User, WebhookUrl = webhook, Image = ImageInput.FromBytes(TestImages.Png(16, 16)), Options = new Dictionary<string, string> { ["emotion"] = "joy" } },
        _ => new GenerationRequest { Type = type, UserId = User, WebhookUrl = webhook, Prompt = $"a lighthouse number {n}" },
    };

    /// <summary>Rows in a table of a SQLite file (optionally in one status); null when the table does not exist.</summary>
    private static async Task<long?> CountAsync(string file, string table, string? status = null)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=@t";
        exists.Parameters.AddWithValue("@t", table);
        if ((long)(await exists.ExecuteScalarAsync())! == 0)
        {
            return null;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM \"{table}\" WHERE @s IS NULL OR status = @s";
        command.Parameters.AddWithValue("@s", (object?)status ?? DBNull.Value);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
