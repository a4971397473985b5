using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// The proof that plug-ins need nothing from the core's insides: a generation type defined only in this test
/// assembly, with its own table and column, registered with one call and run end to end by a real host.
/// </summary>
public class TestOnlyTypeEndToEndTests
{
    private sealed class SepiaSketchGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
    {
        public static new readonly GenerationTypeDefinition Definition = new("sepia-sketch", "sepia_sketch_media", "Sepia Sketch")
        {
            ExtraColumns = ["paper"],
        };

        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
        {
            var paper = RequireChoice("paper", request.GetOption("paper"), ["smooth", "rough"], "smooth");
            return ValueTask.FromResult(new GenerationSpec
            {
                Prompt = prompt,
                Tags = ["sketch"],
                Columns = new Dictionary<string, string?> { ["paper"] = paper },
            });
        }

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = RenderTemplate("{prompt}, sepia pencil sketch on {paper} paper", new Dictionary<string, string?> { ["prompt"] = job.Prompt ?? "portrait", ["paper"] = job.GetColumn("paper") }),
            SourceImage = sourceImage,
            Seed = SeedFor(job.Id),
        };
    }

    [Fact]
    public async Task A_type_defined_outside_the_core_runs_end_to_end_in_a_host()
    {
        using var dir = new TempDirectory();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50))
            .AddGenerator<SepiaSketchGenerator>("sepia-sketch")
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseOfflineProvider();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            Assert.Equal(["sepia-sketch"], pipeline.Types.Select(t => t.Name));

            var source = TestImages.Png(96, 64, seed: 7);
            var ticket = await pipeline.SubmitAsync(new GenerationRequest
            {
                Type = "sepia-sketch",
                UserId = "tester",
                Image = ImageInput.FromBytes(source),
                Options = new Dictionary<string, string> { ["paper"] = "rough" },
            });
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "tester", TimeSpan.FromSeconds(60));

            Assert.Equal(GenerationStatus.Completed, job.Status);
            Assert.Equal("rough", job.GetColumn("paper"));
            Assert.Contains("sketch", job.Tags);
            var image = await File.ReadAllBytesAsync(new Uri(job.ImageUrl!).LocalPath);
            Assert.Equal(new ImageInfo(ImageFormat.Png, 96, 64), ImageInspector.Inspect(image));
            Assert.NotEqual(source, image);

            // Its own table, with its own column, in the embedded database.
            using var connection = new SqliteConnection($"Data Source={dir.File("stefna.db")};Pooling=False");
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT status, paper FROM sepia_sketch_media WHERE id = $id";
            command.Parameters.AddWithValue("$id", job.Id.ToString());
            using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal("completed", reader.GetString(0));
            Assert.Equal("rough", reader.GetString(1));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_host_without_a_store_fails_at_start_with_a_message_naming_what_is_missing()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna().AddGenerator<SepiaSketchGenerator>("sepia-sketch");
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("no media store is configured", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no asset storage is configured", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no image provider is configured for 'sepia-sketch'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o => o.MaxAttempts = 0).AddGenerator<SepiaSketchGenerator>("sepia-sketch", o => o.MaxInFlight = 0);
        using var host = builder.Build();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("MaxAttempts must be at least 1", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AddStefna_and_AddGenerator_are_safe_to_call_twice()
    {
        var services = new ServiceCollection();
        services.AddStefna().AddGenerator<SepiaSketchGenerator>("sepia-sketch");
        var count = services.Count;
        services.AddStefna().AddGenerator<SepiaSketchGenerator>("sepia-sketch");
        Assert.Equal(count, services.Count);
    }
}
