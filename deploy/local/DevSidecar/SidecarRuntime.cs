using Dcis.Crisis.DevSidecar.PubSub;
using Dcis.Crisis.DevSidecar.Resources;
using Dcis.Crisis.DevSidecar.Subscriptions;

namespace Dcis.Crisis.DevSidecar;

/// <summary>
/// Brings the sidecar up in daprd's order: components (outbound ready), then the app channel (wait for
/// the app port, read subscriptions, start consumers); on stop, drains in-flight deliveries.
/// </summary>
public sealed class SidecarRuntime(
    SidecarOptions options,
    SidecarState state,
    Publisher publisher,
    AppChannel channel,
    ResourceSet resources,
    SubscriptionManager subscriptions,
    IHostApplicationLifetime lifetime,
    ILogger<SidecarRuntime> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        stoppingToken.Register(() => lifetime.StopApplication());
        state.ShutdownRequested.Token.Register(() => lifetime.StopApplication());
        foreach (var pubsub in publisher.PubSubs.Values)
        {
            while (!await pubsub.Component.PingAsync())
            {
                logger.LogWarning("Waiting for Redis at {Host} (pubsub {PubSub})", pubsub.Component.Settings.Host, pubsub.Spec.Name);
                await Task.Delay(500, stoppingToken);
            }
        }

        state.OutboundReady = true;
        logger.LogInformation("dev sidecar for {AppId}: components ready ({PubSubs}); HTTP API on {HttpPort}, gRPC API on {GrpcPort}",
            options.AppId, string.Join(", ", publisher.PubSubs.Keys), options.DaprHttpPort, options.DaprGrpcPort);

        if (!channel.Enabled)
        {
            subscriptions.Start(resources.Subscriptions);
            state.AppReady = true;
            return;
        }

        logger.LogInformation("Waiting for the app on {Address}:{Port}", options.AppChannelAddress, options.AppPort);
        await channel.WaitForPortAsync(stoppingToken);
        var programmatic = await subscriptions.FetchProgrammaticAsync(stoppingToken);
        subscriptions.Start(programmatic.Concat(resources.Subscriptions));
        state.AppReady = true;
        logger.LogInformation("App {AppId} connected; {Count} subscriptions active", options.AppId, subscriptions.Active.Count);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        logger.LogInformation("Stopping: draining in-flight deliveries");
        await subscriptions.StopAsync(TimeSpan.FromSeconds(30));
        foreach (var pubsub in publisher.PubSubs.Values)
        {
            await pubsub.Component.DisposeAsync();
        }
    }
}
