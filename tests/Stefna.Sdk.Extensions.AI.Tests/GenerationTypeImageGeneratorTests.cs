using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Extensions.AI.Tests;

/// <summary>A generation type behind M.E.AI's IImageGenerator: calls become queued jobs in the type's table, run by
/// the worker, and answer the stored image.</summary>
public sealed class GenerationTypeImageGeneratorTests : IAsyncLifetime
{
    private EmbeddedDefaultHost _host = null!;
    private readonly CancellationTokenSource _stopWorker = new();
    private Task _worker = Task.CompletedTask;

    public Task InitializeAsync()
    {
        _host = EmbeddedDefaultHost.Create(stefna => stefna
            .AddCustomPrompt()
            .AddNeoGlitch()
            .AddImageGenerator("custom-prompt")
            .AddImageGenerator("neo-glitch", o => o.DefaultUserId = "studio"));
        _worker = _host.Services.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, _stopWorker.Token);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stopWorker.CancelAsync();
        try
        {
            await _worker;
        }
        catch (OperationCanceledException)
        {
        }

        await _host.DisposeAsync();
        _stopWorker.Dispose();
    }

    private IImageGenerator Generator(string type) => _host.Services.GetRequiredKeyedService<IImageGenerator>(type);

    [Fact]
    public async Task Text_to_image_submits_a_job_of_the_type_and_answers_its_stored_image()
    {
        var response = await Generator("custom-prompt").GenerateImagesAsync("a kite over dunes");

        var image = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("image/png", image.MediaType);
        var job = Assert.IsType<GenerationJob>(response.RawRepresentation);
        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal("custom-prompt", job.Type);
        Assert.Equal("meai", job.UserId);
        var row = await _host.ReadRowAsync("custom_prompt_media", job.Id, CancellationToken.None);
        Assert.Equal("completed", row!["status"]);
        var stored = await File.ReadAllBytesAsync(new Uri(job.ImageUrl!).LocalPath);
        Assert.Equal(stored, image.Data.ToArray());
    }

    [Fact]
    public async Task An_edit_with_an_idempotency_key_runs_once_for_two_calls()
    {
        var source = new DataContent(TestImages.Png(64, 48, seed: 5), "image/png");
        var options = new ImageGenerationOptions
        {
            AdditionalProperties = new() { ["user_id"] = "u-42", ["idempotency_key"] = "edit-1" },
        };

        var first = await Generator("neo-glitch").EditImageAsync(source, "glitch it", options);
        var second = await Generator("neo-glitch").EditImageAsync(source, "glitch it", options);

        var a = Assert.IsType<GenerationJob>(first.RawRepresentation);
        var b = Assert.IsType<GenerationJob>(second.RawRepresentation);
        Assert.Equal(a.Id, b.Id);
        Assert.Equal("u-42", a.UserId);
        Assert.NotNull(a.SourceImageUrl);
        Assert.Equal(1, await _host.CountRowsAsync("neo_glitch_media", CancellationToken.None));
        Assert.Equal(
            Assert.IsType<DataContent>(Assert.Single(first.Contents)).Data.ToArray(),
            Assert.IsType<DataContent>(Assert.Single(second.Contents)).Data.ToArray());
    }

    [Fact]
    public async Task An_invalid_request_throws_the_types_validation_error_and_writes_nothing()
    {
        var error = await Assert.ThrowsAnyAsync<GenerationValidationException>(() => Generator("custom-prompt").GenerateImagesAsync(" "));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal(0, await _host.CountRowsAsync("custom_prompt_media", CancellationToken.None));
    }

    [Fact]
    public void Metadata_names_stefna_and_the_type()
    {
        var metadata = Generator("neo-glitch").GetService<ImageGeneratorMetadata>();

        Assert.Equal("stefna", metadata!.ProviderName);
        Assert.Equal("neo-glitch", metadata.DefaultModelId);
    }
}
