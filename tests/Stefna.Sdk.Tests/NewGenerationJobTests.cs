using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Tests;

/// <summary><see cref="NewGenerationJob.ToQueuedJob"/>: the queued row an object store keeps, as the relational stores
/// read it back.</summary>
public sealed class NewGenerationJobTests
{
    [Fact]
    public void The_queued_job_has_every_own_column_no_attempt_and_copies_of_the_lists()
    {
        var definition = new GenerationTypeDefinition("poster", "poster_media", "Poster") { ExtraColumns = ["palette", "era"] };
        var tags = new List<string> { "retro" };
        var meta = new Dictionary<string, string> { ["k"] = "v" };
        var created = new DateTimeOffset(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);
        var job = new NewGenerationJob
        {
            Id = Guid.CreateVersion7(),
            Type = "poster",
            UserId = "u",
            Prompt = "p",
            Preset = "s",
            SourceImageUrl = "file:///a.png",
            Tags = tags,
            Meta = meta,
            Columns = new Dictionary<string, string?> { ["era"] = "80s" },
            IdempotencyKey = "key",
            CreatedAt = created,
        };

        var queued = job.ToQueuedJob(definition);
        tags.Add("later");
        meta["k2"] = "later";

        Assert.Equal((job.Id, "poster", "u", GenerationStatus.Queued, 0), (queued.Id, queued.Type, queued.UserId, queued.Status, queued.Attempts));
        Assert.Equal(("p", "s", "file:///a.png", "key"), (queued.Prompt, queued.Preset, queued.SourceImageUrl, queued.IdempotencyKey));
        Assert.Equal(["retro"], queued.Tags);
        Assert.Equal(new Dictionary<string, string> { ["k"] = "v" }, queued.Meta);
        Assert.Equal(new Dictionary<string, string?> { ["palette"] = null, ["era"] = "80s" }, queued.Columns);
        Assert.Equal((created, created), (queued.CreatedAt, queued.UpdatedAt));
        Assert.Null(queued.LeaseUntil);
        Assert.Null(queued.Error);
        Assert.Null(queued.ImageUrl);
    }
}
