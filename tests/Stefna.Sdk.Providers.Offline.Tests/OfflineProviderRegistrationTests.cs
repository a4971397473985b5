using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Providers.Offline;
using Stefna.TestUtils;
using static Stefna.Sdk.Providers.Offline.Tests.OfflineTestSupport;

namespace Stefna.Sdk.Providers.Offline.Tests;

public class OfflineProviderRegistrationTests
{
    [Fact]
    public void UseOfflineProvider_makes_it_the_default_provider()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseOfflineProvider();
        using var provider = services.BuildServiceProvider();

        var imageProvider = provider.GetRequiredService<IImageProvider>();

        Assert.IsType<OfflineImageProvider>(imageProvider);
        Assert.Equal("offline", imageProvider.Name);
    }

    [Fact]
    public void UseOfflineProvider_replaces_a_default_provider_chosen_before()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseProvider(_ => new ThrowingProvider()).UseOfflineProvider();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<OfflineImageProvider>(provider.GetRequiredService<IImageProvider>());
        Assert.Single(services, d => d.ServiceType == typeof(IImageProvider) && d.ServiceKey is null);
    }

    [Fact]
    public async Task UseOfflineProvider_applies_the_configured_options()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseOfflineProvider(o => o.MaxDimension = 100);
        using var provider = services.BuildServiceProvider();

        var offline = Assert.IsType<OfflineImageProvider>(provider.GetRequiredService<IImageProvider>());
        var png = await offline.RenderAsync(Request("presets", TestImages.Png(400, 200)));

        Assert.Equal((100, 50), (Decode(png).Width, Decode(png).Height));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(100_000, 0)]
    [InlineData(1024, -1)]
    public void Out_of_range_options_fail_at_start_up(int maxDimension, int latencySeconds)
    {
        var services = new ServiceCollection();
        services.AddStefna().UseOfflineProvider(o =>
        {
            o.MaxDimension = maxDimension;
            o.SimulatedLatency = TimeSpan.FromSeconds(latencySeconds);
        });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("OfflineProviderOptions.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_options_pass_start_up_validation()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseOfflineProvider(o => o.SimulatedLatency = TimeSpan.FromMilliseconds(5));
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void Constructing_with_out_of_range_options_throws()
    {
        Assert.Throws<OptionsValidationException>(() => Provider(o => o.MaxDimension = 8));
    }

    private sealed class ThrowingProvider : IImageProvider
    {
        public string Name => "throwing";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException();
    }
}
