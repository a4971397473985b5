using System.Collections.Concurrent;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests.Providers;

/// <summary>An in-process provider that counts calls and answers a PNG, or throws what <see cref="Failure"/> says.</summary>
internal sealed class ScriptedProvider(string name, int seed = 1) : IImageProvider
{
    private int _calls;

    public string Name { get; } = name;

    public int Calls => Volatile.Read(ref _calls);

    public ConcurrentQueue<ProviderRequest> Requests { get; } = new();

    /// <summary>The provider job ids it was asked to cancel.</summary>
    public ConcurrentQueue<string> Cancels { get; } = new();

    /// <summary>When set, every call throws it (the provider is "down").</summary>
    public Func<Exception>? Failure { get; set; }

    public byte[] Image { get; } = TestImages.Png(24, 16, seed);

    public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        Requests.Enqueue(request);
        if (Failure is { } failure)
        {
            throw failure();
        }

        return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage
        {
            Bytes = Image,
            Meta = new Dictionary<string, string> { ["provider"] = Name, ["model"] = Name + "-model" },
        }));
    }

    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public ValueTask CancelAsync(string providerJobId, CancellationToken cancellationToken)
    {
        Cancels.Enqueue(providerJobId);
        return ValueTask.CompletedTask;
    }

    public static ProviderRequest Request(string prompt = "a harbour", long? seed = null) => new()
    {
        JobId = Guid.NewGuid(),
        Type = "prompt-test",
        Prompt = prompt,
        Seed = seed,
    };
}
