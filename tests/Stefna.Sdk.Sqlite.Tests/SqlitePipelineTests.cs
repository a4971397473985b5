using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>The SQLite store under the real pipeline and worker: submit, run, complete.</summary>
public sealed class SqlitePipelineTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Submitted_job_runs_to_completion_with_its_image_on_disk()
    {
        var provider = new InMemoryProvider();
        var dbPath = _folder.File("db/stefna.db");
        var services = new ServiceCollection();
        services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50))
            .AddGenerator<EchoGenerator>(EchoGenerator.TypeName)
            .UseSqlite(dbPath)
            .UseLocalFileStorage(_folder.File("images"))
            .UseProvider(_ => provider);
        await using var services1 = services.BuildServiceProvider();
        var pipeline = services1.GetRequiredService<IGenerationPipeline>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var ticket = await pipeline.SubmitAsync(new GenerationRequest
        {
            Type = EchoGenerator.TypeName,
            UserId = "pipeline-user",
            Image = ImageInput.FromBytes(TestImages.Png(seed: 3)),
            Prompt = "a lighthouse 'at' dusk",
            Tags = ["e2e"],
        }, timeout.Token);
        Assert.Equal(GenerationStatus.Queued, ticket.Status);

        await services1.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, timeout.Token);

        var job = await pipeline.GetStatusAsync(EchoGenerator.TypeName, ticket.Id, "pipeline-user", timeout.Token);
        Assert.NotNull(job);
        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Null(job.Error);
        Assert.Equal(1, job.Attempts);
        Assert.Equal("fake", job.Meta["provider"]);
        Assert.Equal("calm", job.GetColumn("mood"));
        Assert.Contains("e2e", job.Tags);
        Assert.NotNull(job.ImageUrl);
        var file = new Uri(job.ImageUrl).LocalPath;
        Assert.True(File.Exists(file), $"The image {file} should exist.");
        Assert.Equal(provider.Image, await File.ReadAllBytesAsync(file, timeout.Token));
        Assert.Equal(1, provider.Calls);

        // The row itself, as another reader of the file sees it.
        await using var connection = new SqliteConnection($"Data Source={dbPath};Pooling=False");
        await connection.OpenAsync(timeout.Token);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT status, image_url FROM echo_sqlite_media WHERE id = @id";
        command.Parameters.AddWithValue("@id", ticket.Id.ToString("D"));
        await using var reader = await command.ExecuteReaderAsync(timeout.Token);
        Assert.True(await reader.ReadAsync(timeout.Token));
        Assert.Equal("completed", reader.GetString(0));
        Assert.Equal(job.ImageUrl, reader.GetString(1));

        var feed = await pipeline.GetFeedAsync(new FeedQuery { UserId = "pipeline-user", Tag = "e2e" }, timeout.Token);
        Assert.Equal([ticket.Id], feed.Items.Select(j => j.Id));
    }

    /// <summary>A minimal generation type with one column of its own.</summary>
    private sealed class EchoGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
    {
        public const string TypeName = "sqlite-echo";

        public static new GenerationTypeDefinition Definition { get; } = new(TypeName, "echo_sqlite_media", "SQLite echo") { ExtraColumns = ["mood"] };

        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new GenerationSpec
            {
                Prompt = prompt,
                Columns = new Dictionary<string, string?> { ["mood"] = "calm" },
            });

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = job.Prompt ?? "echo",
            SourceImage = sourceImage,
        };
    }

    /// <summary>An image provider that answers at once with a fixed PNG, checking it got the source image.</summary>
    private sealed class InMemoryProvider : IImageProvider
    {
        private int _calls;

        public byte[] Image { get; } = TestImages.Png(32, 24, seed: 9);

        public int Calls => Volatile.Read(ref _calls);

        public string Name => "fake";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            if (request.SourceImage is null || request.Prompt.Length == 0)
            {
                throw new GenerationException(GenerationErrorCategory.InvalidRequest, "The fake provider expects a source image and a prompt.");
            }

            return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = Image }));
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
