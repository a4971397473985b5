using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Internal;

namespace Stefna.Sdk.Pipeline;

/// <summary>Checks the composition and creates tables at host start (so a misconfiguration stops the host), then
/// runs the worker unless <see cref="StefnaOptions.RunWorker"/> is off.</summary>
internal sealed class StefnaHostedService(StefnaInitializer initializer, GenerationWorker worker, IOptions<StefnaOptions> options) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.RunWorker ? worker.RunAsync(exitWhenIdle: false, stoppingToken) : Task.CompletedTask;
}
