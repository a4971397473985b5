using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Internal;

namespace Stefna.Sdk.Pipeline;

/// <summary>Checks the composition and creates tables at host start (so a misconfiguration stops the host with a
/// message naming what is missing), then runs the worker unless <see cref="StefnaOptions.RunWorker"/> is off.</summary>
internal sealed class StefnaHostedService(IServiceProvider services, IOptions<StefnaOptions> options) : BackgroundService
{
    private GenerationWorker? _worker;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await services.GetRequiredService<StefnaInitializer>().EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        // Resolved only after the check: the worker's dependencies are exactly what the check reports on.
        _worker = services.GetRequiredService<GenerationWorker>();
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.RunWorker && _worker is not null ? _worker.RunAsync(exitWhenIdle: false, stoppingToken) : Task.CompletedTask;
}
