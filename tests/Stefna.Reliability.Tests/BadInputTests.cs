using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Net;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Bad input through the library (<see cref="IGenerationPipeline"/> over SQLite and local files): every case is refused
/// with a typed <see cref="GenerationValidationException"/> carrying a stable code and a message a person can act on,
/// and leaves no row and no file behind. URL cases resolve test names through <see cref="MapResolver"/>, so nothing is
/// sent beyond 127.0.0.1.
/// </summary>
public sealed class BadInputTests
{
    private static readonly byte[] Png = TestImages.Png(64, 48, seed: 11);

    private sealed record Case(string Type, Func<string, GenerationRequest> Build, string Code, Action<StefnaOptions>? Options = null);

    private static GenerationRequest Req(string type, ImageInput? image = null, string? prompt = null, string? preset = null, string user = "user-bad",
        IReadOnlyList<string>? tags = null, (string Key, string Value)? option = null, string? idempotencyKey = null) => new()
    {
        Type = type,
        UserId = user,
        Image = image,
        Prompt = prompt,
        Preset = preset,
        Tags = tags ?? [],
        IdempotencyKey = idempotencyKey,
        Options = option is { } o ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [o.Key] = o.Value } : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
    };

    private static ImageInput Bytes(byte[] bytes) => ImageInput.FromBytes(bytes, "upload.png");

    private static ImageInput Url(string url) => ImageInput.FromUrl(new Uri(url));

    private static string Write(string dir, string name, byte[] content)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // Images: size, structure, content type, dimensions.
        ["oversize image (configured 4 KiB limit)"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(TestImages.Png(256, 256, seed: 4))), "invalid_request.image_too_large", o => o.MaxImageBytes = 4096),
        ["oversize image file (configured 4 KiB limit)"] = new("neo-glitch", d => Req("neo-glitch", ImageInput.FromFile(Write(d, "big.png", TestImages.Png(256, 256, seed: 4)))), "invalid_request.image_too_large", o => o.MaxImageBytes = 4096),
        ["empty image"] = new("neo-glitch", _ => Req("neo-glitch", Bytes([])), "invalid_request.image_empty"),
        ["truncated PNG"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(TestImages.TruncatedPng())), "invalid_request.truncated"),
        ["truncated PNG file"] = new("emotion-mask", d => Req("emotion-mask", ImageInput.FromFile(Write(d, "cut.png", TestImages.TruncatedPng(100))), option: ("emotion", "joy")), "invalid_request.truncated"),
        ["corrupt PNG (checksum)"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(TestImages.CorruptPng())), "invalid_request.corrupt"),
        ["truncated GIF (no trailer)"] = new("neo-glitch", _ => Req("neo-glitch", Bytes([.. "GIF89a"u8, 10, 0, 10, 0, 0, 0, 0, 1, 2, 3])), "invalid_request.truncated"),
        ["text posing as an image"] = new("neo-glitch", _ => Req("neo-glitch", Bytes("just some text, not a picture"u8.ToArray())), "invalid_request.not_an_image"),
        ["HTML saved as .png"] = new("neo-glitch", d => Req("neo-glitch", ImageInput.FromFile(Write(d, "page.png", "<html><script>alert(1)</script></html>"u8.ToArray()))), "invalid_request.not_an_image"),
        ["PDF as the image"] = new("neo-glitch", _ => Req("neo-glitch", Bytes("%PDF-1.7\n%âãÏÓ\n1 0 obj"u8.ToArray())), "invalid_request.not_an_image"),
        ["small file declaring 100000x100000 pixels"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(TestImages.PngDeclaring(100_000, 100_000))), "invalid_request.too_many_pixels"),
        ["small file declaring 0x10 pixels"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(TestImages.PngDeclaring(0, 10))), "invalid_request.bad_dimensions"),
        ["image missing where required"] = new("neo-glitch", _ => Req("neo-glitch"), "invalid_request.image_required"),
        ["image file that does not exist"] = new("neo-glitch", d => Req("neo-glitch", ImageInput.FromFile(Path.Combine(d, "nope.png"))), "invalid_request.image_not_found"),
        ["path traversal to a system file as the image"] = new("neo-glitch", d => Req("neo-glitch", ImageInput.FromFile(Path.Combine(d, "..", "..", "..", "..", "..", "..", "etc", "passwd"))), "invalid_request.not_an_image"),

        // Types, presets, emotions and other choices.
        ["unknown type"] = new("deep-fake", _ => Req("deep-fake", Bytes(Png)), "invalid_request.unknown_type"),
        ["path traversal as the type"] = new("../neo-glitch", _ => Req("../neo-glitch", Bytes(Png)), "invalid_request.unknown_type"),
        ["SQL in the type"] = new("neo-glitch'; DROP TABLE neo_glitch_media;--", _ => Req("neo-glitch'; DROP TABLE neo_glitch_media;--", Bytes(Png)), "invalid_request.unknown_type"),
        ["unknown preset"] = new("presets", _ => Req("presets", Bytes(Png), preset: "no-such-preset"), "invalid_request.unknown_preset"),
        ["missing preset"] = new("presets", _ => Req("presets", Bytes(Png)), "invalid_request.preset_required"),
        ["unknown neo-glitch style"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(Png), preset: "vaporwave-9000"), "invalid_request.unknown_style"),
        ["unknown emotion"] = new("emotion-mask", _ => Req("emotion-mask", Bytes(Png), option: ("emotion", "smug")), "invalid_request.unknown_emotion"),
        ["missing emotion"] = new("emotion-mask", _ => Req("emotion-mask", Bytes(Png)), "invalid_request.emotion_required"),
        ["unknown ghibli reaction"] = new("ghibli-reaction", _ => Req("ghibli-reaction", Bytes(Png), option: ("reaction", "yawning")), "invalid_request.unknown_reaction"),

        // Prompts.
        ["empty prompt where required"] = new("custom-prompt", _ => Req("custom-prompt", prompt: ""), "invalid_request.prompt_required"),
        ["blank prompt given on purpose"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(Png), prompt: "   \t "), "invalid_request.prompt_empty"),
        ["oversized prompt (2,001 chars)"] = new("neo-glitch", _ => Req("neo-glitch", Bytes(Png), prompt: new string('a', 2001)), "invalid_request.prompt_too_long"),
        ["oversized prompt (1 MB)"] = new("custom-prompt", _ => Req("custom-prompt", prompt: new string('x', 1_000_000)), "invalid_request.prompt_too_long"),
        ["prompt with a control character"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "ring the bell \u0007 twice"), "invalid_request.prompt_control_character"),
        ["prompt with a right-to-left override"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "invoice \u202Egnp.exe"), "invalid_request.prompt_control_character"),
        ["prompt with a lone surrogate"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "broken \uD800 text"), "invalid_request.prompt_bad_unicode"),

        // Tags.
        ["SQL metacharacters in a tag"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", tags: ["x'; DROP TABLE custom_prompt_media;--"]), "invalid_request.tag_invalid"),
        ["path traversal in a tag"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", tags: ["../../etc"]), "invalid_request.tag_invalid"),
        ["zero-width space in a tag"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", tags: ["cat\u200Bdog"]), "invalid_request.tag_invalid"),
        ["emoji in a tag"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", tags: ["cat😀"]), "invalid_request.tag_invalid"),
        ["tag too long"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", tags: [new string('t', 41)]), "invalid_request.tag_too_long"),
        ["too many tags"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", tags: [.. Enumerable.Range(0, 25).Select(i => "tag" + i)]), "invalid_request.too_many_tags"),

        // Users and keys.
        ["empty user id"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", user: ""), "invalid_request.user_required"),
        ["user id with a control character"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", user: "alice\u0000admin"), "invalid_request.bad_user"),
        ["user id of 10,000 chars"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", user: new string('u', 10_000)), "invalid_request.bad_user"),
        ["idempotency key of 201 chars"] = new("custom-prompt", _ => Req("custom-prompt", prompt: "a cat", idempotencyKey: new string('k', 201)), "invalid_request.bad_idempotency_key"),

        // Image URLs: schemes, and hosts that resolve (through the test resolver) to non-public addresses.
        ["file:// URL"] = new("neo-glitch", _ => Req("neo-glitch", ImageInput.Parse("file:///etc/passwd")), "invalid_request.url_scheme"),
        ["ftp:// URL"] = new("neo-glitch", _ => Req("neo-glitch", Url("ftp://public.test/a.png")), "invalid_request.url_scheme"),
        ["gopher:// URL"] = new("neo-glitch", _ => Req("neo-glitch", Url("gopher://public.test:70/_GET")), "invalid_request.url_scheme"),
        ["URL naming a loopback host"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://loopback.test/a.png")), "invalid_request.url_private_address"),
        ["URL with a literal 127.0.0.1"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://127.0.0.1:9/a.png")), "invalid_request.url_private_address"),
        ["URL with a literal [::1]"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://[::1]:9/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to IPv6 loopback"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://loopback6.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to IPv4-mapped loopback"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://mapped-loopback.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to cloud metadata 169.254.169.254"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://metadata.test/latest/meta-data/iam")), "invalid_request.url_private_address"),
        ["URL with a literal 169.254.169.254"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://169.254.169.254/latest/meta-data/")), "invalid_request.url_private_address"),
        ["URL resolving to 10.0.0.0/8"] = new("neo-glitch", _ => Req("neo-glitch", Url("https://private10.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to 172.16.0.0/12"] = new("neo-glitch", _ => Req("neo-glitch", Url("https://private172.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to 192.168.0.0/16"] = new("neo-glitch", _ => Req("neo-glitch", Url("https://private192.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to carrier-grade NAT"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://cgnat.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to IPv6 unique-local"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://unique-local.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to 0.0.0.0"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://unspecified.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to NAT64 64:ff9b::a9fe:a9fe (169.254.169.254)"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://nat64-metadata.test/latest/meta-data/")), "invalid_request.url_private_address"),
        ["URL resolving to 6to4 2002:a00:1::1 (10.0.0.1)"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://sixtofour-private.test/a.png")), "invalid_request.url_private_address"),
        ["URL resolving to IPv4-compatible ::169.254.169.254"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://v4compat-metadata.test/a.png")), "invalid_request.url_private_address"),
        ["URL with a literal NAT64 [64:ff9b::a9fe:a9fe]"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/")), "invalid_request.url_private_address"),
        ["URL resolving to a public and a private address"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://mixed.test/a.png")), "invalid_request.url_private_address"),
        ["URL whose host does not resolve"] = new("neo-glitch", _ => Req("neo-glitch", Url("http://nowhere.test/a.png")), "invalid_request.url_unresolved"),
    };

    public static TheoryData<string> LibraryCases => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(LibraryCases))]
    public async Task Bad_input_through_the_library_is_refused_with_a_typed_error_and_leaves_nothing_behind(string name)
    {
        var c = Cases[name];
        using var inputs = new TempDirectory();
        var resolver = new MapResolver();
        await using var host = SdkHost.Start(b => b.Services.Replace(ServiceDescriptor.Singleton<IHostAddressResolver>(resolver)), c.Options, runWorker: false);
        var request = c.Build(inputs.Path);

        var error = await Assert.ThrowsAnyAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(request));

        Assert.Equal(c.Code, error.Code);
        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.True(error.Message.Length < 1000, $"message too long for a person: {error.Message}");
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(0, await host.CountRowsAsync());
        Assert.Empty(host.StoredFiles());
        if (request.Image?.Url is { } url && c.Code == "invalid_request.url_private_address")
        {
            // Looked up once (the check) and never again (a connection would resolve once more, literal hosts included;
            // see Connecting_resolves_a_literal_host_again): refused before connecting.
            Assert.Equal(1, resolver.Lookups(url.IdnHost));
        }

        Figures.Record("bad input (library): " + name, new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["code"] = error.Code, ["rows_left"] = 0, ["files_left"] = 0 });
    }

    [Fact]
    public void There_are_at_least_40_library_cases() => Assert.True(Cases.Count >= 40, $"{Cases.Count} cases");

    public static TheoryData<string, string> RedirectTargets => new()
    {
        { "http://metadata.test/latest/meta-data/iam/security-credentials/", "invalid_request.url_private_address" },
        { "http://169.254.169.254/latest/meta-data/", "invalid_request.url_private_address" },
        { "http://[::1]:8080/admin.png", "invalid_request.url_private_address" },
        { "http://private10.test/internal.png", "invalid_request.url_private_address" },
        { "file:///etc/passwd", "invalid_request.url_scheme" },
    };

    /// <summary>The first hop (public.test → the loopback server, declared public by the test's address policy) is
    /// fetched; the redirect's target is checked and refused before any connection to it.</summary>
    [Theory]
    [MemberData(nameof(RedirectTargets))]
    public async Task A_redirect_to_a_forbidden_target_is_refused_before_connecting_even_when_the_first_hop_is_allowed(string target, string code)
    {
        var resolver = new MapResolver();
        await using var server = await RecordingServer.StartAsync(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = target;
            return Task.CompletedTask;
        });
        await using var host = SdkHost.Start(
            b => b.Services
                .Replace(ServiceDescriptor.Singleton<IHostAddressResolver>(resolver))
                .Replace(ServiceDescriptor.Singleton<IImageAddressPolicy, LoopbackIsPublicPolicy>()),
            runWorker: false);

        var error = await Assert.ThrowsAsync<GenerationValidationException>(() => host.Pipeline.SubmitAsync(
            Req("neo-glitch", Url($"http://public.test:{server.Port}/photo.png"))));

        Assert.Equal(code, error.Code);
        Assert.Single(server.Requests);                       // the first hop was fetched…
        var targetHost = new Uri(target).IdnHost;
        if (targetHost.Length > 0)
        {
            Assert.Equal(1, resolver.Lookups(targetHost));    // …the target was checked once and never connected to.
        }

        Assert.Equal(0, await host.CountRowsAsync());
        Assert.Empty(host.StoredFiles());
        Figures.Record("bad input (library): redirect to " + target, new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["code"] = error.Code });
    }

    [Fact]
    public async Task The_first_hop_itself_is_fetched_when_the_policy_allows_it()
    {
        // The control for the redirect proofs: the same set-up without a redirect succeeds, so the refusals above
        // are the redirect's doing.
        var resolver = new MapResolver();
        await using var server = await RecordingServer.StartAsync(context => context.Response.Body.WriteAsync(Png).AsTask());
        await using var host = SdkHost.Start(b => b.Services
            .Replace(ServiceDescriptor.Singleton<IHostAddressResolver>(resolver))
            .Replace(ServiceDescriptor.Singleton<IImageAddressPolicy, LoopbackIsPublicPolicy>()));

        var job = await host.RunAsync(Req("neo-glitch", Url($"http://public.test:{server.Port}/photo.png")));

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Single(server.Requests);
    }

    /// <summary>The control for the "looked up exactly once" proof on literal hosts: when the policy lets a literal
    /// through, fetching it resolves it a second time to connect, so a single lookup does show no connection was tried.</summary>
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    public async Task Connecting_resolves_a_literal_host_again(string literal)
    {
        var resolver = new MapResolver();
        await using var server = await RecordingServer.StartAsync(context => context.Response.Body.WriteAsync(Png).AsTask());
        await using var host = SdkHost.Start(
            b => b.Services
                .Replace(ServiceDescriptor.Singleton<IHostAddressResolver>(resolver))
                .Replace(ServiceDescriptor.Singleton<IImageAddressPolicy, AnyLoopbackIsPublicPolicy>()),
            runWorker: false);
        var url = new Uri($"http://{literal}:{server.Port}/photo.png");

        try
        {
            await host.Pipeline.SubmitAsync(Req("neo-glitch", ImageInput.FromUrl(url)));
        }
        catch (GenerationValidationException)
        {
            // [::1]: the server listens on 127.0.0.1 only, so the connection is refused; it was still attempted.
        }

        Assert.Equal(2, resolver.Lookups(url.IdnHost));
    }

    [Fact]
    public async Task Private_network_image_urls_are_allowed_only_by_the_explicit_option()
    {
        await using var server = await RecordingServer.StartAsync(context => context.Response.Body.WriteAsync(Png).AsTask());
        var url = new Uri(server.BaseUrl, "/photo.png");

        await using (var strict = SdkHost.Start(runWorker: false))
        {
            var error = await Assert.ThrowsAsync<GenerationValidationException>(() => strict.Pipeline.SubmitAsync(Req("neo-glitch", ImageInput.FromUrl(url))));
            Assert.Equal("invalid_request.url_private_address", error.Code);
            Assert.Empty(server.Requests);
        }

        await using var open = SdkHost.Start(options: o => o.AllowPrivateNetworkImageUrls = true);
        var job = await open.RunAsync(Req("neo-glitch", ImageInput.FromUrl(url)));
        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task A_file_name_with_path_traversal_is_informational_only_and_nothing_is_written_outside_the_storage_root()
    {
        await using var host = SdkHost.Start();
        var job = await host.RunAsync(Req("neo-glitch", ImageInput.FromBytes(Png, "../../../../tmp/evil.png")));

        Assert.Equal(GenerationStatus.Completed, job.Status);
        var files = host.StoredFiles();
        Assert.Equal(2, files.Count(f => f.StartsWith("images", StringComparison.Ordinal)));
        Assert.All(files, f => Assert.DoesNotContain("evil", f, StringComparison.Ordinal));
        Assert.All(files.Where(f => f.StartsWith("images", StringComparison.Ordinal)), f => Assert.Contains(job.Id.ToString("N"), f, StringComparison.Ordinal));
        Assert.False(File.Exists("/tmp/evil.png"));
        Figures.Record("bad input (library): file name with path traversal", new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["jobs_run"] = 1 });
    }

    public static TheoryData<string, string> HostilePrompts => new()
    {
        { "sqlite", "Robert'); DROP TABLE custom_prompt_media;-- \"quoted\" ; $1 %s \\ ?" },
        { "sqlite", "ẞtraße café 東京 🌸 \U0001D518\U0001D52B\U0001D526 ‮? no: these are letters" },
        { "postgres", "x' OR '1'='1'; DELETE FROM custom_prompt_media WHERE ''=''; -- $$ E'\\x00' ::text" },
        { "postgres", "emoji 👩‍👩‍👧‍👦 flags 🇮🇸 combining é → NFC, CJK 画像, Arabic مرحبا" },
    };

    [Theory]
    [MemberData(nameof(HostilePrompts))]
    public async Task SQL_metacharacters_and_odd_unicode_in_prompts_are_stored_verbatim(string store, string prompt)
    {
        var expected = prompt.Trim().Normalize(NormalizationForm.FormC);
        if (prompt.Contains('\u202E', StringComparison.Ordinal))
        {
            // A bidi override is refused by design (see the bad-input cases); the stored-verbatim proof uses letters only.
            prompt = prompt.Replace("\u202E", string.Empty, StringComparison.Ordinal);
            expected = prompt.Trim().Normalize(NormalizationForm.FormC);
        }

        var database = store == "postgres" ? await PostgresServer.CreateDatabaseAsync("stefna_rel_prompt") : null;
        try
        {
            await using var host = SdkHost.Start(postgres: database, runWorker: false);
            var ticket = await host.Pipeline.SubmitAsync(Req("custom-prompt", prompt: prompt, user: "user-o'brien"));
            var job = await host.Pipeline.GetStatusAsync("custom-prompt", ticket.Id, "user-o'brien");

            Assert.NotNull(job);
            Assert.Equal(expected, job.Prompt);
            Assert.Equal(1, await host.CountRowsAsync());
            var feed = await host.Pipeline.GetFeedAsync(new FeedQuery { UserId = "user-o'brien" });
            Assert.Equal(expected, Assert.Single(feed.Items).Prompt);
            Figures.Record("bad input (library): hostile prompt stored verbatim (" + store + ")", new Dictionary<string, object> { ["bad_inputs_tried"] = 1 });
        }
        finally
        {
            if (database is not null)
            {
                await PostgresServer.DropDatabaseAsync(database);
            }
        }
    }

    public static TheoryData<string, string> UnstorableText => new()
    {
        { "sqlite", "user" }, { "sqlite", "user-surrogate" }, { "sqlite", "key" }, { "sqlite", "tag" }, { "sqlite", "prompt" }, { "sqlite", "option" },
        { "postgres", "user" }, { "postgres", "user-surrogate" }, { "postgres", "key" }, { "postgres", "tag" }, { "postgres", "prompt" }, { "postgres", "option" },
    };

    /// <summary>A NUL or an unpaired surrogate anywhere in a request is invalid_request on every store (before: SQLite
    /// stored it, PostgreSQL threw a raw PostgresException 22021 / EncoderFallbackException), and nothing is written.</summary>
    [Theory]
    [MemberData(nameof(UnstorableText))]
    public async Task A_NUL_or_an_unpaired_surrogate_is_invalid_request_on_every_store(string store, string field)
    {
        var request = new GenerationRequest { Type = "custom-prompt", UserId = "user-text", Prompt = "a lighthouse" };
        request = field switch
        {
            "user" => new GenerationRequest { Type = request.Type, UserId = "user\0text", Prompt = request.Prompt },
            "user-surrogate" => new GenerationRequest { Type = request.Type, UserId = "user-\ud800", Prompt = request.Prompt },
            "key" => new GenerationRequest { Type = request.Type, UserId = request.UserId, Prompt = request.Prompt, IdempotencyKey = "k\0" },
            "tag" => new GenerationRequest { Type = request.Type, UserId = request.UserId, Prompt = request.Prompt, Tags = ["ok", "t\udc01"] },
            "prompt" => new GenerationRequest { Type = request.Type, UserId = request.UserId, Prompt = "a lighthouse \ud83d" },
            _ => new GenerationRequest { Type = request.Type, UserId = request.UserId, Prompt = request.Prompt, Options = new Dictionary<string, string> { ["mood"] = "calm\0" } },
        };

        var database = store == "postgres" ? await PostgresServer.CreateDatabaseAsync("stefna_rel_text") : null;
        try
        {
            await using var host = SdkHost.Start(postgres: database, runWorker: false);
            var refused = await Assert.ThrowsAnyAsync<GenerationException>(() => host.Pipeline.SubmitAsync(request));

            Assert.Equal(GenerationErrorCategory.InvalidRequest, refused.Category);
            Assert.Equal(0, await host.CountRowsAsync());
            Assert.Empty(host.StoredFiles());
        }
        finally
        {
            if (database is not null)
            {
                await PostgresServer.DropDatabaseAsync(database);
            }
        }
    }
}
