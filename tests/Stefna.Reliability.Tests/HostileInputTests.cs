using System.Collections;
using Stefna.Sdk;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Hostile input found by the outside pass of issue 16: inputs shaped to cost the host time or memory, or to slip past
/// a check. Each is refused with a typed error, and the cost is asserted by counting work, never by timing it.
/// </summary>
public sealed class HostileInputTests
{
    /// <summary>A tag list that counts how many of its entries were read.</summary>
    private sealed class CountingTags(int count) : IReadOnlyList<string>
    {
        public int Reads { get; private set; }

        public int Count => count;

        public string this[int index]
        {
            get
            {
                Reads++;
                return "tag" + index;
            }
        }

        public IEnumerator<string> GetEnumerator()
        {
            for (var i = 0; i < count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>173,344 distinct tags (the 1 MB form of the report) are refused from their count, before a single tag
    /// is read, normalised or compared with another: before the fix every tag was read and compared with every kept
    /// one (130 s of CPU).</summary>
    [Fact]
    public async Task A_huge_tag_list_is_refused_as_too_many_tags_before_any_tag_is_read()
    {
        await using var host = SdkHost.Start(runWorker: false);
        var tags = new CountingTags(173_344);

        var error = await Assert.ThrowsAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(new GenerationRequest
        {
            Type = "custom-prompt",
            UserId = "user-hostile",
            Prompt = "a cat",
            Tags = tags,
        }));

        Assert.Equal("invalid_request.too_many_tags", error.Code);
        Assert.Equal(0, tags.Reads);
        Assert.Equal(0, await host.CountRowsAsync());
        Figures.Record("hostile input: 173,344 tags", new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["code"] = error.Code, ["tags_read"] = tags.Reads });
    }

    /// <summary>A list at the limit whose entries repeat is still read once each: duplicates are found by hashing, not
    /// by comparing every pair, and a list within the count limit is accepted.</summary>
    [Fact]
    public async Task Tags_within_the_limit_are_each_read_once()
    {
        await using var host = SdkHost.Start(runWorker: false);
        var tags = new CountingTags(18);

        var ticket = await host.Pipeline.SubmitAsync(new GenerationRequest
        {
            Type = "custom-prompt",
            UserId = "user-hostile",
            Prompt = "a cat",
            Tags = tags,
        });

        Assert.False(ticket.IsExisting);
        Assert.Equal(18, tags.Reads);
    }

    public static TheoryData<string> SpecialFiles => ["/dev/zero", "/dev/urandom", "{fifo}"];

    /// <summary>A device never ends (before the fix <c>/dev/zero</c> was read to 2 GB and an OutOfMemoryException) and
    /// opening a FIFO blocks until a writer comes (before the fix the submit hung): both are refused before they are
    /// opened, as <c>image_not_a_file</c>. The wait is bounded so a regression fails instead of hanging the run.</summary>
    [Theory]
    [MemberData(nameof(SpecialFiles))]
    public async Task A_device_or_a_fifo_named_as_the_image_file_is_refused_without_being_read(string path)
    {
        using var inputs = new TempDirectory();
        path = path == "{fifo}" ? MakeFifo(inputs.File("image.png")) : path;
        await using var host = SdkHost.Start(runWorker: false);

        var error = await Assert.ThrowsAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(new GenerationRequest
        {
            Type = "neo-glitch",
            UserId = "user-hostile",
            Image = ImageInput.FromFile(path),
        }).WaitAsync(TimeSpan.FromMinutes(1)));

        Assert.Equal("invalid_request.image_not_a_file", error.Code);
        Assert.Equal(0, await host.CountRowsAsync());
        Assert.Empty(host.StoredFiles());
        Figures.Record("hostile input: special file " + (path.StartsWith("/dev/", StringComparison.Ordinal) ? path : "fifo"), new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["code"] = error.Code });
    }

    internal static string MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    /// <summary>U+FB2C (HEBREW LETTER SHIN WITH DAGESH AND SHIN DOT) is one character that normalisation form C turns
    /// into three: 1,000 of them passed a 1,000-character limit and were stored as 3,000. The limit applies to what is
    /// stored, and what passes it is stored at that length.</summary>
    [Fact]
    public async Task The_prompt_length_limit_applies_to_the_normalised_prompt_that_is_stored()
    {
        await using var host = SdkHost.Start(options: o => o.MaxPromptLength = 1000, runWorker: false);
        var expanding = new string('\uFB2C', 1000);
        Assert.Equal(3000, expanding.Normalize(System.Text.NormalizationForm.FormC).Length);

        var error = await Assert.ThrowsAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(new GenerationRequest
        {
            Type = "custom-prompt",
            UserId = "user-hostile",
            Prompt = expanding,
        }));

        Assert.Equal("invalid_request.prompt_too_long", error.Code);
        Assert.Contains("3000", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await host.CountRowsAsync());

        var ticket = await host.Pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "user-hostile", Prompt = new string('\uFB2C', 333) });
        var stored = await host.Pipeline.GetStatusAsync("custom-prompt", ticket.Id, "user-hostile");
        Assert.Equal(999, stored!.Prompt!.Length);
        Figures.Record("hostile input: 1,000 x U+FB2C prompt", new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["code"] = error.Code });
    }

    /// <summary>20 submits race with one idempotency key, half of them with another prompt (before the fix all 19
    /// losers got <c>existing: true</c>, whatever their prompt). Exactly one job is created; every request equal to the
    /// winner's gets that job back, every other one an <see cref="IdempotencyConflictException"/> naming it.</summary>
    [Fact]
    public async Task An_idempotency_key_reused_with_a_different_request_is_a_conflict_even_when_racing()
    {
        await using var host = SdkHost.Start(runWorker: false);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var prompts = Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? "a red fox" : "a blue whale").ToArray();
        var attempts = prompts.Select(async prompt =>
        {
            await go.Task;
            try
            {
                return (prompt, Ticket: await host.Pipeline.SubmitAsync(new GenerationRequest
                {
                    Type = "custom-prompt",
                    UserId = "user-hostile",
                    Prompt = prompt,
                    IdempotencyKey = "order-42",
                }), Conflict: (IdempotencyConflictException?)null);
            }
            catch (IdempotencyConflictException conflict)
            {
                return (prompt, Ticket: (GenerationTicket?)null, Conflict: conflict);
            }
        }).ToList();
        go.SetResult();
        var outcomes = await Task.WhenAll(attempts);

        Assert.Equal(1, await host.CountRowsAsync());
        var job = Assert.Single(outcomes, o => o.Ticket is { IsExisting: false }).Ticket!;
        var winner = (await host.Pipeline.GetStatusAsync("custom-prompt", job.Id, "user-hostile"))!.Prompt;
        foreach (var (prompt, ticket, conflict) in outcomes)
        {
            if (prompt == winner)
            {
                Assert.Equal(job.Id, ticket!.Id);
            }
            else
            {
                Assert.Null(ticket);
                Assert.Equal(job.Id, conflict!.ExistingJobId);
                Assert.Equal(IdempotencyConflictException.ConflictCode, conflict.Code);
                Assert.Contains("prompt", conflict.Differences);
            }
        }

        Assert.Equal(10, outcomes.Count(o => o.Conflict is not null));
        Figures.Record("hostile input: idempotency key reused by 20 racing requests", new Dictionary<string, object> { ["bad_inputs_tried"] = 10, ["conflicts"] = 10 });
    }

    /// <summary>The same key with the same prompt but another source image, other options or tags is a conflict too;
    /// the identical request (the image given again as bytes) returns the job.</summary>
    [Fact]
    public async Task An_idempotency_key_reused_with_another_image_option_or_tag_is_a_conflict()
    {
        await using var host = SdkHost.Start(runWorker: false);
        GenerationRequest Request(byte[] image, string emotion = "joy", string tag = "party") => new()
        {
            Type = "emotion-mask",
            UserId = "user-hostile",
            Image = ImageInput.FromBytes(image),
            Options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["emotion"] = emotion },
            Tags = [tag],
            IdempotencyKey = "upload-7",
        };
        var first = TestImages.Png(32, 32, seed: 1);
        var created = await host.Pipeline.SubmitAsync(Request(first));

        var again = await host.Pipeline.SubmitAsync(Request([.. first]));
        var otherImage = await Assert.ThrowsAsync<IdempotencyConflictException>(() => host.Pipeline.SubmitAsync(Request(TestImages.Png(32, 32, seed: 2))));
        var otherOption = await Assert.ThrowsAsync<IdempotencyConflictException>(() => host.Pipeline.SubmitAsync(Request(first, emotion: "anger")));
        var otherTag = await Assert.ThrowsAsync<IdempotencyConflictException>(() => host.Pipeline.SubmitAsync(Request(first, tag: "work")));

        Assert.True(again.IsExisting);
        Assert.Equal(created.Id, again.Id);
        Assert.All(new[] { otherImage, otherOption, otherTag }, c => Assert.Equal(created.Id, c.ExistingJobId));
        Assert.Equal(1, await host.CountRowsAsync());
        Assert.Single(host.StoredFiles());
    }

    /// <summary>The storage folder replaced by a file (like a full or broken disk, the write fails with an IOException
    /// that names the file). Before the fix the data directory's path reached the caller's error and the job's
    /// <c>error.message</c>; now neither names a server path (the inner exception keeps it for the host's logs).</summary>
    [Fact]
    public async Task A_storage_failure_shows_the_client_no_server_path()
    {
        await using var host = SdkHost.Start();
        if (Directory.Exists(host.ImagesPath))
        {
            Directory.Delete(host.ImagesPath, recursive: true);
        }

        await File.WriteAllTextAsync(host.ImagesPath, "not a folder");
        var root = Path.GetTempPath().TrimEnd('/');

        var submit = await Assert.ThrowsAsync<GenerationException>(() => host.Pipeline.SubmitAsync(new GenerationRequest
        {
            Type = "neo-glitch",
            UserId = "user-hostile",
            Image = ImageInput.FromBytes(TestImages.Png(32, 32, seed: 3)),
        }));
        var ticket = await host.Pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "user-hostile", Prompt = "a cat" });
        var job = await host.Pipeline.WaitForCompletionAsync("custom-prompt", ticket.Id, "user-hostile", TimeSpan.FromMinutes(2));

        Assert.Equal(GenerationErrorCategory.StorageFailure, submit.Category);
        Assert.Contains(host.Data.Path, submit.InnerException!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(root, submit.Message, StringComparison.Ordinal);
        Assert.Equal(GenerationStatus.Failed, job.Status);
        Assert.Equal(GenerationErrorCategory.StorageFailure, job.Error!.Category);
        Assert.DoesNotContain(root, job.Error.Message, StringComparison.Ordinal);
        Assert.Contains("[path]", job.Error.Message, StringComparison.Ordinal);
    }
}
