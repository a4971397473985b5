using System.Collections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Stefna.Sdk;
using Stefna.Sdk.Cloudinary;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Postgres.Legacy;
using Stefna.Sdk.Providers.AimlApi;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>Every read is scoped to its user; secrets never reach logs nor options' <c>ToString()</c>.</summary>
public sealed class SecurityTests(ITestOutputHelper output)
{
    private const string AimlKey = "aiml-SECRET-key-9f8e7d6c5b4a";
    private const string CloudinarySecret = "cloudinary-SECRET-a1b2c3d4e5";
    private const string PostgresPassword = "pg-SECRET-password-0z9y8x";

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Another_users_job_is_invisible_to_get_cancel_wait_feed_and_idempotency(string store)
    {
        var database = store == "postgres" ? await PostgresServer.CreateDatabaseAsync("stefna_rel_scope") : null;
        try
        {
            await using var host = SdkHost.Start(postgres: database, runWorker: false);
            var pipeline = host.Pipeline;
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "alice", Prompt = "alice's private idea", Tags = ["secret-project"], IdempotencyKey = "k-1" });

            Assert.Null(await pipeline.GetStatusAsync("custom-prompt", ticket.Id, "mallory"));
            Assert.Null(await pipeline.GetStatusAsync("custom-prompt", ticket.Id, "Alice"));      // ids are exact, not case-folded
            Assert.Null(await pipeline.GetStatusAsync("custom-prompt", ticket.Id, "alice' OR '1'='1"));
            Assert.Null(await pipeline.CancelAsync("custom-prompt", ticket.Id, "mallory"));
            await Assert.ThrowsAsync<KeyNotFoundException>(() => pipeline.WaitForCompletionAsync("custom-prompt", ticket.Id, "mallory", TimeSpan.FromSeconds(5)));
            Assert.Empty((await pipeline.GetFeedAsync(new FeedQuery { UserId = "mallory" })).Items);
            Assert.Empty((await pipeline.GetFeedAsync(new FeedQuery { UserId = "mallory", Tag = "secret-project" })).Items);
            Assert.Empty((await pipeline.GetFeedAsync(new FeedQuery { UserId = "%" })).Items);

            // The same idempotency key under another user is another job, not a window onto alice's.
            var other = await pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "mallory", Prompt = "mine", IdempotencyKey = "k-1" });
            Assert.NotEqual(ticket.Id, other.Id);
            Assert.False(other.IsExisting);

            var own = await pipeline.GetStatusAsync("custom-prompt", ticket.Id, "alice");
            Assert.NotNull(own);
            Assert.Equal(GenerationStatus.Queued, own.Status);        // mallory's cancel changed nothing
            Assert.Equal("alice's private idea", own.Prompt);
            Assert.Equal(ticket.Id, Assert.Single((await pipeline.GetFeedAsync(new FeedQuery { UserId = "alice" })).Items).Id);
            Assert.Equal(GenerationStatus.Canceled, (await pipeline.CancelAsync("custom-prompt", ticket.Id, "alice"))!.Status);
        }
        finally
        {
            if (database is not null)
            {
                await PostgresServer.DropDatabaseAsync(database);
            }
        }
    }

    [Fact]
    public async Task A_full_run_logged_at_trace_level_never_shows_the_AIML_key_the_Cloudinary_secret_or_the_PostgreSQL_password()
    {
        await using var aiml = await AimlApiEmulator.StartAsync(AimlKey);
        await using var cloudinary = await CloudinaryEmulator.StartAsync("sec-cloud", "sec-key-123", CloudinarySecret);
        var database = await PostgresServer.CreateDatabaseAsync("stefna_rel_logs");
        var withPassword = new NpgsqlConnectionStringBuilder(database) { Password = PostgresPassword }.ConnectionString;
        var logs = new EverythingLoggerProvider();
        try
        {
            await using (var host = SdkHost.Start(
                b => b
                    .UseAimlApi(o =>
                    {
                        o.ApiKey = AimlKey;
                        o.BaseUrl = aiml.BaseUrl;
                        o.MaxRetryAttempts = 1;
                        o.RetryDelay = TimeSpan.FromMilliseconds(10);
                    })
                    .UseCloudinary(o =>
                    {
                        o.ApplyUrl(cloudinary.CloudinaryUrl);
                        o.ApiBaseUrl = cloudinary.BaseUrl;
                        o.DeliveryBaseUrl = cloudinary.BaseUrl;
                    }),
                o => o.MaxAttempts = 1,
                postgres: withPassword,
                logs: logs,
                level: LogLevel.Trace))
            {
                // A success, a rate-limited upload, a provider failure and a refused request: every log path runs.
                cloudinary.RateLimitNext(1, reset: "1");
                var ok = await host.RunAsync(new GenerationRequest { Type = "neo-glitch", UserId = "u1", Image = ImageInput.FromBytes(TestImages.Png(32, 32)) });
                aiml.Enqueue(new AimlScriptedReply(200, "{ this is not json"));
                var bad = await host.RunAsync(new GenerationRequest { Type = "custom-prompt", UserId = "u1", Prompt = "a fox" });
                await Assert.ThrowsAnyAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(new GenerationRequest { Type = "neo-glitch", UserId = "u1", Image = ImageInput.FromBytes("nope"u8.ToArray()) }));
                Assert.Equal(GenerationStatus.Completed, ok.Status);
                Assert.Equal(GenerationStatus.Failed, bad.Status);
                Assert.Equal("provider_error.malformed_response", bad.Error!.Code);
                // An application logging the options objects themselves must not leak either.
#pragma warning disable CA1848 // a one-off trace line in a test
                host.Services.GetRequiredService<ILogger<SecurityTests>>().LogTrace("options: {Aiml} {Cloudinary} {Postgres}",
                    host.Services.GetRequiredService<IOptionsMonitor<AimlApiOptions>>().Get(AimlApiBuilderExtensions.DefaultName),
                    host.Services.GetRequiredService<IOptions<CloudinaryOptions>>().Value,
                    host.Services.GetRequiredService<IOptions<PostgresStoreOptions>>().Value);
#pragma warning restore CA1848
            }

            var text = logs.Text;
            output.WriteLine($"{logs.Count} log entries, {text.Length:N0} characters, categories: {string.Join(", ", logs.Categories.Order())}");
            Figures.Record(nameof(A_full_run_logged_at_trace_level_never_shows_the_AIML_key_the_Cloudinary_secret_or_the_PostgreSQL_password), new Dictionary<string, object>
            {
                ["jobs_run"] = 2, ["log_entries_checked"] = logs.Count, ["secrets_found"] = new[] { AimlKey, CloudinarySecret, PostgresPassword }.Count(s => text.Contains(s, StringComparison.Ordinal)),
            });

            foreach (var leak in logs.Entries.Where(e => new[] { AimlKey, CloudinarySecret, PostgresPassword }.Any(s => e.Contains(s, StringComparison.Ordinal))))
            {
                output.WriteLine("LEAK: " + leak.Replace(AimlKey, "<aiml key>", StringComparison.Ordinal).Replace(CloudinarySecret, "<cloudinary secret>", StringComparison.Ordinal).Replace(PostgresPassword, "<pg password>", StringComparison.Ordinal));
            }

            // The capture is real: the provider's calls, the Cloudinary traffic, the job lifecycle and the options line were logged.
            Assert.Contains(logs.Categories, c => c.Contains("AimlApi", StringComparison.Ordinal));
            Assert.Contains(logs.Categories, c => c.Contains("Cloudinary", StringComparison.Ordinal));
            Assert.Contains(logs.Categories, c => c.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal));
            Assert.Contains("sec-cloud", text, StringComparison.Ordinal);
            Assert.Contains("Host=127.0.0.1", text, StringComparison.Ordinal);
            Assert.DoesNotContain(AimlKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(CloudinarySecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(PostgresPassword, text, StringComparison.Ordinal);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public void Options_ToString_never_shows_a_secret()
    {
        var aiml = new AimlApiOptions { ApiKey = AimlKey, BaseUrl = new Uri("https://aiml.example.test") };
        var cloudinary = CloudinaryOptions.Parse($"cloudinary://key-42:{CloudinarySecret}@my-cloud");
        var postgres = new PostgresStoreOptions { ConnectionString = $"Host=db.example.test;Username=app;Password={PostgresPassword};Database=stefna" };
        var postgresUrlStyle = new PostgresStoreOptions { ConnectionString = $"Host=db.example.test;Username=app;Pwd={PostgresPassword}" };

        Assert.DoesNotContain(AimlKey, aiml.ToString(), StringComparison.Ordinal);
        Assert.Contains("aiml.example.test", aiml.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(CloudinarySecret, cloudinary.ToString(), StringComparison.Ordinal);
        Assert.Contains("my-cloud", cloudinary.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresPassword, postgres.ToString(), StringComparison.Ordinal);
        Assert.Contains("db.example.test", postgres.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresPassword, postgresUrlStyle.ToString(), StringComparison.Ordinal);

        // Every spelling Npgsql accepts for a secret: the password (and its aliases) and the client key's password.
        foreach (var keyword in new[] { "Password", "PWD", "PSW", "SslPassword", "Ssl Password" })
        {
            var connection = $"Host=db.example.test;Username=app;{keyword}={PostgresPassword};Database=stefna";
            Assert.Equal(PostgresPassword, new NpgsqlConnectionStringBuilder(connection)[keyword]); // Npgsql knows the keyword
            var store = new PostgresStoreOptions { ConnectionString = connection }.ToString();
            Assert.DoesNotContain(PostgresPassword, store, StringComparison.Ordinal);
            Assert.Contains("db.example.test", store, StringComparison.Ordinal);
            var legacy = new LegacyMigrationOptions { SourceConnectionString = connection }.ToString();
            Assert.DoesNotContain(PostgresPassword, legacy, StringComparison.Ordinal);
            Assert.Contains("db.example.test", legacy, StringComparison.Ordinal);
        }

        // Both secrets at once, with a client key file (a path, shown) and a passfile (a path, shown).
        var both = $"Host=db.example.test;Password={PostgresPassword};SslPassword={PostgresPassword}-key;SslKey=/etc/stefna/client.key;Passfile=/etc/stefna/pgpass";
        Assert.DoesNotContain(PostgresPassword, new PostgresStoreOptions { ConnectionString = both }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresPassword, new LegacyMigrationOptions { SourceConnectionString = both }.ToString(), StringComparison.Ordinal);
        Assert.Contains("/etc/stefna/client.key", new PostgresStoreOptions { ConnectionString = both }.ToString(), StringComparison.Ordinal);
        Assert.Contains("(target database)", new LegacyMigrationOptions().ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_errors_never_repeat_a_secret()
    {
        var cloudinary = Assert.Throws<FormatException>(() => CloudinaryOptions.Parse($"cloudinary://key-42:{CloudinarySecret}@"));
        Assert.DoesNotContain(CloudinarySecret, cloudinary.Message, StringComparison.Ordinal);

        var services = new ServiceCollection();
        services.AddStefna().UsePostgres($"Host=;Password={PostgresPassword};Database=x");
        using var provider = services.BuildServiceProvider();
        var postgres = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value);
        Assert.DoesNotContain(PostgresPassword, postgres.Message, StringComparison.Ordinal);

        var aimlServices = new ServiceCollection();
        aimlServices.AddStefna().UseAimlApi(o =>
        {
            o.ApiKey = AimlKey;
            o.BaseUrl = new Uri("ftp://nope.test");
        });
        using var aimlProvider = aimlServices.BuildServiceProvider();
        var aiml = Assert.Throws<OptionsValidationException>(() => aimlProvider.GetRequiredService<IOptionsMonitor<AimlApiOptions>>().Get(AimlApiBuilderExtensions.DefaultName));
        Assert.DoesNotContain(AimlKey, aiml.Message, StringComparison.Ordinal);
    }

    /// <summary>Captures every log entry: the formatted message, the exception with its stack, every structured
    /// value and every scope, so a secret cannot hide in a field the formatter leaves out.</summary>
    private sealed class EverythingLoggerProvider : ILoggerProvider
    {
        private readonly List<string> _entries = [];
        private readonly HashSet<string> _categories = [];

        public int Count
        {
            get
            {
                lock (_entries)
                {
                    return _entries.Count;
                }
            }
        }

        public IReadOnlyList<string> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public string Text
        {
            get
            {
                lock (_entries)
                {
                    return string.Join('\n', _entries);
                }
            }
        }

        public IReadOnlyCollection<string> Categories
        {
            get
            {
                lock (_entries)
                {
                    return [.. _categories];
                }
            }
        }

        public ILogger CreateLogger(string categoryName)
        {
            lock (_entries)
            {
                _categories.Add(categoryName);
            }

            return new Logger(this, categoryName);
        }

        public void Dispose()
        {
        }

        private void Add(string entry)
        {
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }

        private static string Describe(object? state) => state switch
        {
            null => string.Empty,
            IEnumerable<KeyValuePair<string, object?>> pairs => string.Join("; ", pairs.Select(p => $"{p.Key}={Flatten(p.Value)}")) + " | " + state,
            _ => state.ToString() ?? string.Empty,
        };

        private static string Flatten(object? value) => value switch
        {
            null => "null",
            string s => s,
            IEnumerable items => string.Join(",", items.Cast<object?>().Select(i => i?.ToString())),
            _ => value.ToString() ?? string.Empty,
        };

        private sealed class Logger(EverythingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                owner.Add($"[scope {category}] {Describe(state)}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Add($"[{logLevel} {category} {eventId}] {formatter(state, exception)} || {Describe(state)} || {exception}");
        }
    }
}
