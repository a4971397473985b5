using System.Collections.Concurrent;
using Polly.CircuitBreaker;

namespace Stefna.Sdk.Internal;

/// <summary>Each type's circuit breaker state, read by the health checks.</summary>
internal sealed class CircuitStates
{
    private readonly ConcurrentDictionary<string, CircuitBreakerStateProvider> _states = new(StringComparer.Ordinal);

    /// <summary>A state provider for the type's pipeline being built (a provider serves one breaker, so a rebuilt
    /// pipeline gets a new one).</summary>
    public CircuitBreakerStateProvider Create(string type) => _states[type] = new CircuitBreakerStateProvider();

    /// <summary>The type's circuit state; <see langword="null"/> before its pipeline was first built (no job ran yet).</summary>
    public CircuitState? Get(string type) => _states.TryGetValue(type, out var state) ? state.CircuitState : null;
}
