using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Cloudinary.Tests;

public sealed class StorageTests : IAsyncLifetime
{
    private CloudinaryEmulator _emulator = null!;

    public async Task InitializeAsync() => _emulator = await CloudinaryEmulator.StartAsync("demo", "key123", "emulator-secret");

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    [Fact]
    public async Task SaveAsync_uploads_signed_bytes_to_the_type_folder_with_tags_and_context()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var png = TestImages.Png(64, 48);
        var request = Request(png, AssetKind.Result, tags: ["cyber", "neo-glitch"]);

        var asset = await storage.SaveAsync(request, CancellationToken.None);

        var upload = Assert.Single(_emulator.Requests);
        Assert.Equal("upload", upload.Operation);
        Assert.True(upload.SignatureValid);
        Assert.Equal(200, upload.StatusCode);
        Assert.Equal(40, upload.Fields["signature"].Length);
        Assert.False(upload.Fields.ContainsKey("signature_algorithm"));
        Assert.Equal("key123", upload.Fields["api_key"]);
        Assert.Equal("stefna/neo-glitch/results", upload.Fields["folder"]);
        Assert.Equal($"{request.JobId:N}_result", upload.Fields["public_id"]);
        Assert.Equal("true", upload.Fields["overwrite"]);
        Assert.Equal("cyber,neo-glitch", upload.Fields["tags"]);
        Assert.Equal(png, upload.File);
        var context = CloudinaryEmulator.ParseContext(upload.Fields["context"]);
        Assert.Equal("user-1", context["user"]);
        Assert.Equal("neo-glitch", context["type"]);
        Assert.Equal(request.JobId.ToString("D"), context["job"]);

        var stored = _emulator.Assets[asset.AssetId];
        Assert.Equal($"stefna/neo-glitch/results/{request.JobId:N}_result", asset.AssetId);
        Assert.Equal($"{_emulator.BaseUrl}/demo/image/upload/v{stored.Version}/{asset.AssetId}.png", asset.Url);
        Assert.Equal((64, 48, "png", (long)png.Length), (asset.Width, asset.Height, asset.Format, asset.Bytes));
        Assert.Equal(png, (await storage.ReadAsync(asset.Url, CancellationToken.None)).ToArray());
    }

    [Fact]
    public async Task Sources_go_to_the_sources_folder_and_a_retried_upload_overwrites()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var first = Request(TestImages.Png(seed: 1), AssetKind.Source);
        var a = await storage.SaveAsync(first, CancellationToken.None);
        var b = await storage.SaveAsync(first with { Content = TestImages.Png(seed: 3) }, CancellationToken.None);

        Assert.Equal($"stefna/neo-glitch/sources/{first.JobId:N}_source", a.AssetId);
        Assert.Equal(a.AssetId, b.AssetId);
        Assert.NotEqual(a.Url, b.Url); // a new version
        Assert.Single(_emulator.Assets);
        Assert.Equal(TestImages.Png(seed: 3), _emulator.Assets[a.AssetId].Bytes);
    }

    [Fact]
    public async Task Results_of_different_attempts_get_their_own_public_ids_and_deleting_one_keeps_the_other()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var winner = Request(TestImages.Png(seed: 1), AssetKind.Result) with { Attempt = 2 };
        var loser = winner with { Attempt = 1, Content = TestImages.Png(seed: 3) };

        var kept = await storage.SaveAsync(winner, CancellationToken.None);
        var discarded = await storage.SaveAsync(loser, CancellationToken.None);
        await storage.DeleteAsync(discarded.Url, CancellationToken.None);

        Assert.Equal($"stefna/neo-glitch/results/{winner.JobId:N}_result_2", kept.AssetId);
        Assert.Equal($"stefna/neo-glitch/results/{winner.JobId:N}_result_1", discarded.AssetId);
        Assert.Equal($"{winner.JobId:N}_result_2", CloudinaryAssetStorage.PublicIdFor(winner.JobId, AssetKind.Result, 2));
        Assert.Equal(TestImages.Png(seed: 1), Assert.Single(_emulator.Assets).Value.Bytes);
        Assert.Equal(TestImages.Png(seed: 1), (await storage.ReadAsync(kept.Url, CancellationToken.None)).ToArray());
    }

    [Fact]
    public async Task Sha256_signatures_are_sent_with_signature_algorithm_and_accepted()
    {
        using var provider = Build(o => o.SignatureAlgorithm = CloudinarySignatureAlgorithm.Sha256);
        await provider.GetRequiredService<CloudinaryAssetStorage>().SaveAsync(Request(TestImages.Png(), AssetKind.Result), CancellationToken.None);

        var upload = Assert.Single(_emulator.Requests);
        Assert.True(upload.SignatureValid);
        Assert.Equal("sha256", upload.Fields["signature_algorithm"]);
        Assert.Equal(64, upload.Fields["signature"].Length);
    }

    [Fact]
    public async Task A_wrong_secret_is_answered_401_and_surfaces_as_typed_exceptions()
    {
        using var provider = Build(o => o.ApiSecret = "not-the-secret");
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();

        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await storage.SaveAsync(Request(TestImages.Png(), AssetKind.Result), CancellationToken.None));
        Assert.Equal(GenerationErrorCategory.StorageFailure, ex.Category);
        var inner = Assert.IsType<CloudinaryException>(ex.InnerException);
        Assert.Equal(HttpStatusCode.Unauthorized, inner.StatusCode);
        Assert.StartsWith("Invalid Signature", inner.CloudinaryMessage, StringComparison.Ordinal);
        Assert.Contains("Invalid Signature", ex.Message, StringComparison.Ordinal);

        var direct = await Assert.ThrowsAsync<CloudinaryException>(() => storage.Client.DestroyAsync("x", false, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, direct.StatusCode);
        Assert.All(_emulator.Requests, r => Assert.Equal(401, r.StatusCode));
        Assert.Equal(2, _emulator.Requests.Count); // a 401 is not retried
    }

    [Fact]
    public async Task Remote_url_upload_sends_the_url_as_file()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var png = TestImages.Png(seed: 7);
        var remote = _emulator.AddRemoteFile("photo.png", png);
        var jobId = Guid.NewGuid();

        var asset = await storage.SaveFromUrlAsync(remote, AssetKind.Source, "neo-glitch", jobId, "user-9", ["x"], CancellationToken.None);

        var upload = Assert.Single(_emulator.Requests, r => r.Operation == "upload");
        Assert.True(upload.SignatureValid);
        Assert.Equal(remote.AbsoluteUri, upload.RemoteUrl);
        Assert.Equal(remote.AbsoluteUri, upload.Fields["file"]);
        Assert.Equal($"stefna/neo-glitch/sources/{jobId:N}_source", asset.AssetId);
        Assert.Equal(png, _emulator.Assets[asset.AssetId].Bytes);
        Assert.Equal(png.Length, asset.Bytes);
    }

    [Fact]
    public async Task DeleteAsync_destroys_by_url_or_public_id_and_a_missing_asset_is_fine()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var a = await storage.SaveAsync(Request(TestImages.Png(), AssetKind.Result), CancellationToken.None);
        var b = await storage.SaveAsync(Request(TestImages.Png(), AssetKind.Result), CancellationToken.None);

        await storage.DeleteAsync(a.Url, CancellationToken.None);
        await storage.DeleteAsync(b.AssetId, CancellationToken.None);
        await storage.DeleteAsync(a.Url, CancellationToken.None); // already gone

        Assert.Empty(_emulator.Assets);
        var destroys = _emulator.Requests.Where(r => r.Operation == "destroy").ToList();
        Assert.Equal(3, destroys.Count);
        Assert.All(destroys, d => Assert.True(d.SignatureValid));
        Assert.Equal([a.AssetId, b.AssetId, a.AssetId], destroys.Select(d => d.Fields["public_id"]));
        Assert.Equal("true", destroys[0].Fields["invalidate"]);
        Assert.False(await storage.Client.DestroyAsync(a.AssetId, false, CancellationToken.None));
        await Assert.ThrowsAsync<GenerationException>(async () => await storage.DeleteAsync("https://res.cloudinary.com/other/image/upload/v1/x.png", CancellationToken.None));
    }

    [Fact]
    public async Task ReadAsync_refuses_urls_of_another_cloud()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await storage.ReadAsync($"{_emulator.BaseUrl}/_remote/photo.png", CancellationToken.None));
        Assert.Equal("storage_failure.not_cloudinary_url", ex.Code);
        Assert.Empty(_emulator.Requests);
    }

    [Fact]
    public async Task A_reset_beyond_MaxRateLimitWait_fails_at_once()
    {
        using var provider = Build(o => o.MaxRateLimitWait = TimeSpan.FromSeconds(5));
        _emulator.RateLimitNext(1, reset: "3600");
        var client = provider.GetRequiredService<CloudinaryClient>();

        var ex = await Assert.ThrowsAsync<CloudinaryRateLimitedException>(() => client.UploadAsync(TestImages.Png(), "a.png", new CloudinaryUploadParameters(), CancellationToken.None));

        Assert.Equal((HttpStatusCode)429, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3600), ex.RetryAfter);
        Assert.Single(_emulator.Requests);
    }

    [Fact]
    public async Task Values_with_ampersands_are_signed_as_signature_version_2_and_the_emulator_accepts_them()
    {
        using var provider = Build();
        var client = provider.GetRequiredService<CloudinaryClient>();
        var parameters = new CloudinaryUploadParameters
        {
            PublicId = "p&q",
            Tags = ["a=1&tags=x"],
            Context = new Dictionary<string, string> { ["user"] = "u&v" },
        };

        var result = await client.UploadAsync(TestImages.Png(), "a.png", parameters, CancellationToken.None);

        var upload = Assert.Single(_emulator.Requests);
        Assert.Equal(200, upload.StatusCode);
        Assert.True(upload.SignatureValid);
        Assert.Contains("public_id=p%26q", upload.StringToSign, StringComparison.Ordinal);
        Assert.Contains("tags=a=1%26tags=x", upload.StringToSign, StringComparison.Ordinal);
        Assert.Equal("p&q", result.PublicId);
        Assert.Equal(["a=1&tags=x"], _emulator.Assets["p&q"].Tags);
    }

    [Fact]
    public async Task The_emulator_refuses_a_signature_that_does_not_escape_ampersands()
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        async Task<HttpStatusCode> DestroyAsync(string signature)
        {
            using var http = new HttpClient();
            using var form = new MultipartFormDataContent
            {
                { new StringContent("p&q"), "public_id" },
                { new StringContent(timestamp), "timestamp" },
                { new StringContent("key123"), "api_key" },
                { new StringContent(signature), "signature" },
            };
            using var response = await http.PostAsync($"{_emulator.BaseUrl}/v1_1/demo/image/destroy", form);
            return response.StatusCode;
        }

        // Signature version 1 signed the raw value; Cloudinary (and the emulator) now sign it with '&' as %26.
        var v1 = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes($"public_id=p&q&timestamp={timestamp}emulator-secret")));
        var v2 = CloudinarySignature.Sign([new KeyValuePair<string, string>("public_id", "p&q"), new("timestamp", timestamp)], "emulator-secret");

        Assert.Equal(HttpStatusCode.Unauthorized, await DestroyAsync(v1));
        Assert.Equal(HttpStatusCode.OK, await DestroyAsync(v2));
        Assert.Equal([false, true], _emulator.Requests.Select(r => r.SignatureValid));
    }

    [Theory]
    [InlineData(CloudinarySignatureAlgorithm.Sha1, false, 8)]
    [InlineData(CloudinarySignatureAlgorithm.Sha256, false, 8)]
    [InlineData(CloudinarySignatureAlgorithm.Sha1, true, 32)]
    public async Task Signed_delivery_urls_are_served_and_a_tampered_transformation_is_refused(CloudinarySignatureAlgorithm algorithm, bool longSignature, int length)
    {
        using var provider = Build(o =>
        {
            o.SignatureAlgorithm = algorithm;
            o.LongUrlSignature = longSignature;
        });
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var png = TestImages.Png(seed: 5);
        var asset = await storage.SaveAsync(Request(png, AssetKind.Result), CancellationToken.None);

        var url = storage.CreateUrlBuilder().Resize(30, 20).Signed().Build(asset.AssetId, "png");
        Assert.Matches($"/image/upload/s--[A-Za-z0-9_-]{{{length}}}--/c_fill,h_20,w_30/f_auto,q_auto/v1/", url);
        Assert.Equal(png, (await storage.ReadAsync(url, CancellationToken.None)).ToArray());

        var tampered = url.Replace("c_fill,h_20,w_30", "c_fill,h_2000,w_3000", StringComparison.Ordinal);
        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await storage.ReadAsync(tampered, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, Assert.IsType<CloudinaryException>(ex.InnerException).StatusCode);
        Assert.Equal([200, 200, 401], _emulator.Requests.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task Download_errors_never_show_the_user_info_of_the_url()
    {
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var withUserInfo = _emulator.BaseUrl.Replace("http://", "http://someone:url-p4ssword@", StringComparison.Ordinal) + "/demo/image/upload/v1/missing.png";

        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await storage.ReadAsync(withUserInfo, CancellationToken.None));
        var notOurs = await Assert.ThrowsAsync<GenerationException>(async () => await storage.ReadAsync("https://someone:url-p4ssword@example.com/x.png", CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, Assert.IsType<CloudinaryException>(ex.InnerException).StatusCode);
        foreach (var message in new[] { ex.ToString(), notOurs.ToString() })
        {
            Assert.DoesNotContain("url-p4ssword", message, StringComparison.Ordinal);
            Assert.DoesNotContain("someone", message, StringComparison.Ordinal);
        }

        Assert.Contains("http://***@127.0.0.1", ex.InnerException!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_secret_never_reaches_the_logs()
    {
        const string Secret = "emulator-secret";
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        _emulator.RateLimitNext(1, reset: "0");
        _emulator.FailNext(0);
        var asset = await storage.SaveAsync(Request(TestImages.Png(), AssetKind.Result), CancellationToken.None);
        await storage.DeleteAsync(asset.Url, CancellationToken.None);
        using var wrong = Build(o => o.ApiSecret = "wrong-" + Secret);
        await Assert.ThrowsAsync<GenerationException>(async () => await wrong.GetRequiredService<CloudinaryAssetStorage>().SaveAsync(Request(TestImages.Png(), AssetKind.Result), CancellationToken.None));

        var records = provider.GetFakeLogCollector().GetSnapshot().Concat(wrong.GetFakeLogCollector().GetSnapshot()).ToList();
        Assert.Contains(records, r => r.Message.Contains("rate limited", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Message.Contains("401", StringComparison.Ordinal));
        foreach (var record in records)
        {
            Assert.DoesNotContain(Secret, record.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, record.Exception?.ToString() ?? string.Empty, StringComparison.Ordinal);
            Assert.All(record.StructuredState ?? [], s => Assert.DoesNotContain(Secret, s.Value ?? string.Empty, StringComparison.Ordinal));
        }
    }

    /// <summary>Issue 16: the results of attempts that lost are destroyed by the public id their upload used, in either
    /// folder mode (the folder prefixes the public id or not), and nothing else is touched. Until the storage has seen an
    /// upload answer it cannot tell the mode, so it destroys both forms (the other is a "not found").</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DeleteAttemptResultsAsync_destroys_the_results_of_the_attempts_named_in_either_folder_mode(bool folderPrefixesPublicId)
    {
        _emulator.FolderPrefixesPublicId = folderPrefixesPublicId;
        using var provider = Build();
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();
        var job = Request(TestImages.Png(seed: 5), AssetKind.Result);
        var first = await storage.SaveAsync(job with { Attempt = 1 }, CancellationToken.None);
        var second = await storage.SaveAsync(job with { Attempt = 2 }, CancellationToken.None);
        var third = await storage.SaveAsync(job with { Attempt = 3 }, CancellationToken.None);
        var neighbour = await storage.SaveAsync(Request(TestImages.Png(seed: 6), AssetKind.Result) with { Attempt = 1 }, CancellationToken.None);
        var source = await storage.SaveAsync(job with { Kind = AssetKind.Source }, CancellationToken.None);
        Assert.Equal(folderPrefixesPublicId, first.AssetId.StartsWith("stefna/neo-glitch/results/", StringComparison.Ordinal));

        await storage.DeleteAttemptResultsAsync("neo-glitch", job.JobId, throughAttempt: 2, CancellationToken.None);

        Assert.Equal(Sorted(neighbour.AssetId, source.AssetId, third.AssetId), Sorted([.. _emulator.Assets.Keys]));
        Assert.Equal(2, _emulator.DestroyedCount);
        Assert.Equal(2, _emulator.DestroyCallCount); // the uploads told the mode: one destroy per attempt

        // A storage that has seen no upload answer destroys both forms of each id.
        using var fresh = Build();
        await fresh.GetRequiredService<CloudinaryAssetStorage>().DeleteAttemptResultsAsync("neo-glitch", job.JobId, throughAttempt: 3, CancellationToken.None);
        Assert.Equal(2 + 6, _emulator.DestroyCallCount);
        Assert.Equal(3, _emulator.DestroyedCount);
        Assert.Equal(Sorted(neighbour.AssetId, source.AssetId), Sorted([.. _emulator.Assets.Keys]));
    }

    private static string[] Sorted(params string[] ids) => [.. ids.Order(StringComparer.Ordinal)];

    private ServiceProvider Build(Action<CloudinaryOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddStefna().UseCloudinary(o =>
        {
            o.ApplyUrl(_emulator.CloudinaryUrl);
            o.ApiBaseUrl = _emulator.BaseUrl;
            o.DeliveryBaseUrl = _emulator.BaseUrl;
            o.MaxRateLimitWait = TimeSpan.FromSeconds(10);
            o.ServerErrorBackoff = TimeSpan.FromMilliseconds(20);
            configure?.Invoke(o);
        });
        return services.BuildServiceProvider();
    }

    private static AssetWriteRequest Request(byte[] png, AssetKind kind, IReadOnlyList<string>? tags = null) => new()
    {
        Content = png,
        Info = ImageInspector.Inspect(png),
        Kind = kind,
        Type = "neo-glitch",
        JobId = Guid.NewGuid(),
        UserId = "user-1",
        Tags = tags ?? [],
    };
}
