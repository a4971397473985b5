using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Distributed;

namespace Stefna.Sdk.Providers.Middleware;

/// <summary>
/// Answers a request seen before from an <see cref="IDistributedCache"/> instead of calling the provider again, as
/// Microsoft.Extensions.AI's <c>DistributedCachingChatClient</c> does for chat. The key is a SHA-256 of everything that
/// decides the image: type, prompt, model, seed, size, strength, parameters and the source image's bytes (never the
/// job id). Only inline images are cached (a provider's URL expires); a hit is marked <c>cache: hit</c> in the job's
/// meta. Opt-in: only worth it where equal requests should give equal images (seeded or deterministic models).
/// </summary>
public sealed class CachingImageProvider : DelegatingImageProvider
{
    private readonly IDistributedCache _cache;
    private readonly DistributedCacheEntryOptions _entryOptions;

    /// <summary>Wraps a provider.</summary>
    /// <param name="innerProvider">The provider.</param>
    /// <param name="cache">The cache.</param>
    /// <param name="entryOptions">How long entries live; default one day.</param>
    public CachingImageProvider(IImageProvider innerProvider, IDistributedCache cache, DistributedCacheEntryOptions? entryOptions = null)
        : base(innerProvider)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
        _entryOptions = entryOptions ?? new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromDays(1) };
    }

    /// <inheritdoc />
    public override async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = CacheKey(request);
        if (await _cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } cached && TryRead(cached, out var image))
        {
            return new ProviderResponse.Completed(image);
        }

        var response = await base.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        if (response is ProviderResponse.Completed { Image.Bytes: { } bytes } completed)
        {
            await _cache.SetAsync(key, Write(bytes, completed.Image.Meta), _entryOptions, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>The cache key of a request: <c>stefna:image:&lt;provider&gt;:&lt;sha256&gt;</c>.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The key.</returns>
    public string CacheKey(ProviderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string? value)
        {
            var bytes = Encoding.UTF8.GetBytes(value ?? "\0");
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        Add(request.Type);
        Add(request.Prompt);
        Add(request.Model);
        Add(request.Seed?.ToString(CultureInfo.InvariantCulture));
        Add(request.ImageSize);
        Add(request.Strength?.ToString("R", CultureInfo.InvariantCulture));
        foreach (var (name, value) in request.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Add(name);
            Add(value);
        }

        Add(request.SourceImage is { } source ? Convert.ToHexString(SHA256.HashData(source.Bytes.Span)) : request.SourceImageUrl);
        return $"stefna:image:{Name}:{Convert.ToHexStringLower(hash.GetHashAndReset())}";
    }

    // Entry: 4-byte little-endian length of the meta JSON, the meta JSON, the image bytes.
    private static byte[] Write(ReadOnlyMemory<byte> image, IReadOnlyDictionary<string, string> meta)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(meta.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        var entry = new byte[4 + json.Length + image.Length];
        BinaryPrimitives.WriteInt32LittleEndian(entry, json.Length);
        json.CopyTo(entry, 4);
        image.Span.CopyTo(entry.AsSpan(4 + json.Length));
        return entry;
    }

    private static bool TryRead(byte[] entry, out ProviderImage image)
    {
        image = null!;
        if (entry.Length < 4 || BinaryPrimitives.ReadInt32LittleEndian(entry) is var length && (length < 0 || 4 + length >= entry.Length))
        {
            return false;
        }

        Dictionary<string, string>? meta;
        try
        {
            meta = JsonSerializer.Deserialize<Dictionary<string, string>>(entry.AsSpan(4, length));
        }
        catch (JsonException)
        {
            return false; // a damaged entry is a miss
        }

        meta ??= [];
        meta["cache"] = "hit";
        image = new ProviderImage { Bytes = entry.AsMemory(4 + length), Meta = meta };
        return true;
    }
}
