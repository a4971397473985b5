using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk;
using Stefna.Sdk.Storage;

namespace Contoso.RetroPoster.Tests;

/// <summary>What Retro Poster's own store promises beyond the kit: its documents survive a restart, it serves one
/// process at a time, a crashed write loses nothing, a damaged document is refused, and its clock is the one given.</summary>
public sealed class RetroPosterStoreTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "retro-poster-store", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(Start);

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Jobs_survive_a_restart_with_every_field_and_their_leases()
    {
        Guid queuedId, runningId, doneId;
        using (var store = await OpenAsync())
        {
            queuedId = (await store.InsertAsync(Job(Start.AddTicks(1_234_567), key: "k-1"), default)).Job.Id;
            runningId = (await store.InsertAsync(Job(Start.AddSeconds(-2)), default)).Job.Id;
            doneId = (await store.InsertAsync(Job(Start.AddSeconds(-3)), default)).Job.Id;
            var leases = await store.ClaimAsync(RetroPosterGenerator.TypeName, 2, TimeSpan.FromMinutes(1), 3, default);
            Assert.Equal([doneId, runningId], leases.Select(l => l.Id));
            Assert.True(await store.CompleteAsync(leases[0], new JobResult("file:///poster.png", new Dictionary<string, string> { ["asset_id"] = "a1" }), default));
            Assert.True(await store.SetProviderJobIdAsync(leases[1], "gen-7", default));
        }

        using var reopened = await OpenAsync();

        var queued = await reopened.GetAsync(RetroPosterGenerator.TypeName, queuedId, "fan", default);
        Assert.NotNull(queued);
        Assert.Equal((GenerationStatus.Queued, "a 'quoted' poster 🎞", "seventies", "Summer of '74"), (queued.Status, queued.Prompt, queued.Preset, queued.GetColumn("headline")));
        Assert.Equal(Start.AddTicks(1_234_567).UtcTicks, queued.CreatedAt.UtcTicks);
        Assert.Equal(["retro-poster", "poster"], queued.Tags);
        Assert.Equal("test", queued.Meta["origin"]);
        Assert.Equal(queuedId, (await reopened.FindByIdempotencyKeyAsync(RetroPosterGenerator.TypeName, "fan", "k-1", default))?.Id);
        var done = await reopened.GetAsync(RetroPosterGenerator.TypeName, doneId, "fan", default);
        Assert.Equal((GenerationStatus.Completed, "file:///poster.png", "a1"), (done?.Status, done?.ImageUrl, done?.Meta["asset_id"]));

        // The running job's lease holds across the restart, on the store's clock, and then expires: attempt 2 resumes
        // with the provider job id the first attempt recorded.
        var next = await reopened.ClaimAsync(RetroPosterGenerator.TypeName, 5, TimeSpan.FromHours(1), 3, default);
        Assert.Equal([queuedId], next.Select(l => l.Id));
        _clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromTicks(1));
        var resumed = Assert.Single(await reopened.ClaimAsync(RetroPosterGenerator.TypeName, 5, TimeSpan.FromMinutes(1), 3, default));
        Assert.Equal((runningId, 2, "gen-7"), (resumed.Id, resumed.Attempt, resumed.Job.ProviderJobId));
        Assert.Equal(Start + TimeSpan.FromMinutes(2) + TimeSpan.FromTicks(1), resumed.Job.LeaseUntil);
    }

    [Fact]
    public async Task A_second_store_on_the_same_directory_is_refused_while_the_first_is_open()
    {
        var first = await OpenAsync();

        var refused = Assert.Throws<InvalidOperationException>(() => new RetroPosterStore(_folder, _clock));

        Assert.Contains(_folder, refused.Message, StringComparison.Ordinal);
        Assert.Contains("one process", refused.Message, StringComparison.Ordinal);
        first.Dispose();
        using var second = await OpenAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first.CountUnfinishedAsync(RetroPosterGenerator.TypeName, default));
    }

    [Fact]
    public async Task A_write_that_crashed_before_its_rename_leaves_the_previous_document()
    {
        Guid id;
        using (var store = await OpenAsync())
        {
            id = (await store.InsertAsync(Job(Start), default)).Job.Id;
        }

        // What a crash between writing the temporary file and renaming it leaves behind: half a document.
        var document = Path.Combine(_folder, RetroPosterGenerator.TableName, id.ToString("D") + ".json");
        await File.WriteAllTextAsync(document + ".tmp", "{\"version\":1,\"id\":\"");

        using var reopened = await OpenAsync();

        Assert.Equal(GenerationStatus.Queued, (await reopened.GetAsync(RetroPosterGenerator.TypeName, id, "fan", default))?.Status);
        Assert.False(File.Exists(document + ".tmp"));
        Assert.Single(await reopened.ClaimAsync(RetroPosterGenerator.TypeName, 5, TimeSpan.FromMinutes(1), 3, default));
    }

    [Fact]
    public async Task A_damaged_document_is_refused_naming_the_file_and_is_left_as_it_is()
    {
        Guid id;
        using (var store = await OpenAsync())
        {
            id = (await store.InsertAsync(Job(Start), default)).Job.Id;
        }

        var document = Path.Combine(_folder, RetroPosterGenerator.TableName, id.ToString("D") + ".json");
        await File.WriteAllTextAsync(document, "{ not json");

        using var store2 = new RetroPosterStore(_folder, _clock);
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => store2.InitializeAsync([RetroPosterGenerator.TypeDefinition], default));

        Assert.Contains(document, refused.Message, StringComparison.Ordinal);
        Assert.Equal("{ not json", await File.ReadAllTextAsync(document));
    }

    private async Task<RetroPosterStore> OpenAsync()
    {
        var store = new RetroPosterStore(_folder, _clock);
        await store.InitializeAsync([RetroPosterGenerator.TypeDefinition], default);
        return store;
    }

    private static NewGenerationJob Job(DateTimeOffset createdAt, string? key = null) => new()
    {
        Id = Guid.NewGuid(),
        Type = RetroPosterGenerator.TypeName,
        UserId = "fan",
        Prompt = "a 'quoted' poster 🎞",
        Preset = "seventies",
        Tags = ["retro-poster", "poster"],
        Meta = new Dictionary<string, string> { ["origin"] = "test" },
        Columns = new Dictionary<string, string?> { ["era"] = "seventies", ["headline"] = "Summer of '74" },
        IdempotencyKey = key,
        CreatedAt = createdAt,
    };
}
