using Dapr.Client;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Notifications.Events;

/// <summary>The sidecar could not reach its components when asked: nothing was attempted.</summary>
internal sealed class SidecarUnavailableException() : Exception("the Dapr sidecar reports its outbound components unreachable; publish not attempted");

/// <summary>
/// The outbox relay's publisher. While publishes fail (sidecar down, restarting or not started yet), each retry first asks
/// the sidecar whether it can reach its components (<c>GET /v1.0/healthz/outbound</c>: one small request, or a refused
/// connection) and fails at once while it cannot, instead of turning the relay's whole batch (up to ~3 MB of status
/// events) into CloudEvents for a call that cannot succeed. The very first publish probes too (nothing is known of the
/// sidecar yet): a service started without one, as in the benchmark, never runs the Dapr client's gRPC publish path
/// (~0.3 s of JIT and a batch formatted for nothing). The relay backs off as before; the first publish after the sidecar
/// answers healthy is a normal one. Nothing is lost: the rows stay in the outbox until a publish succeeds.
/// </summary>
internal sealed class SidecarProbingPublisher(IEventPublisher inner, Func<CancellationToken, Task<bool>> probe) : IEventPublisher
{
    private volatile bool _failing = true;

    /// <summary>Probes through the Dapr client's outbound health check.</summary>
    public SidecarProbingPublisher(IEventPublisher inner, DaprClient dapr)
        : this(inner, dapr is null ? throw new ArgumentNullException(nameof(dapr)) : dapr.CheckOutboundHealthAsync)
    {
    }

    /// <summary>Whether no publish succeeded yet or the last one failed (the next one probes first).</summary>
    public bool Failing => _failing;

    public async Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        if (_failing && !await ProbeAsync(cancellationToken))
        {
            throw new SidecarUnavailableException();
        }

        try
        {
            await inner.PublishAsync(events, cancellationToken);
            _failing = false;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            _failing = true;
            throw;
        }
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await probe(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
