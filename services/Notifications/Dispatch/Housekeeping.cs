using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Notifications.Storage;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Notifications.Dispatch;

/// <summary>Creates the schema and puts deliveries caught mid-send by a crash back in the queue,
/// before the dispatcher and the endpoints start.</summary>
internal sealed class StoreInitializer(DeliveryStore store, ILogger<StoreInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken);

        // Built on first use otherwise, by the first request batch of the first alert: the proto descriptors
        // (~0.1 s of CPU) and the tables of the hand-written JSON reader and writer.
        _ = Dcis.Crisis.Events.V1.NotificationRequested.Descriptor;
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Events.NotificationRequestedJsonParser).TypeHandle);
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(StatusEventJson).TypeHandle);

        var recovered = await store.RecoverInFlightAsync(cancellationToken);
        if (recovered > 0)
        {
            logger.LogWarning("Re-queued {Count} deliveries that were being sent when the service stopped", recovered);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Publishes the status trail in batches (NotificationStatusChanged with many updates, through the
/// outbox, every few hundred milliseconds) and wipes contact details after the retention period.
/// </summary>
internal sealed class Housekeeping(
    DeliveryStore store, Outbox outbox, NotificationsOptions options, TimeProvider clock, ILogger<Housekeeping> logger) : BackgroundService
{
    // Trail rows are read, turned into events and committed this many at a time (bounded memory per flush).
    private const int MaxRowsPerFlush = 1000;

    // Quiet flush ticks in a row (~1 s at the default interval) before a burst counts as over.
    private const int QuietTicksBeforeRelease = 4;

    private int _memoryReleases;

    /// <summary>How many bursts ended with this loop giving memory back (<see cref="MemoryRelease.AfterBurst"/>).</summary>
    public int MemoryReleases => Volatile.Read(ref _memoryReleases);

    /// <summary>Publishes every unpublished status change; returns how many.</summary>
    public async Task<int> FlushStatusAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var n = await store.FlushStatusAsync(MaxRowsPerFlush, options.StatusUpdatesPerEvent, cancellationToken);
            if (n == 0)
            {
                break;
            }

            total += n;
            outbox.NotifyCommitted();
            if (n < MaxRowsPerFlush)
            {
                break;
            }
        }

        return total;
    }

    /// <summary>Wipes contact details whose retention ran out; returns how many deliveries.</summary>
    public Task<int> WipeExpiredContactsAsync(CancellationToken cancellationToken) =>
        store.WipeContactsAsync(clock.GetUtcNow() - options.ContactRetention, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var lastWipe = DateTimeOffset.MinValue;
        var busy = false;
        var quietTicks = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var flushed = await FlushStatusAsync(stoppingToken);
                if (flushed > 0)
                {
                    busy = true;
                    quietTicks = 0;
                }
                else if (busy && await store.QueueDepthAsync(stoppingToken) == 0 && ++quietTicks >= QuietTicksBeforeRelease)
                {
                    // The burst is over: nothing queued or in flight and its status trail published, for a few ticks in a row
                    // (not a gap between two request batches).
                    busy = false;
                    quietTicks = 0;
                    MemoryRelease.AfterBurst();
                    Interlocked.Increment(ref _memoryReleases);
                }

                if (clock.GetUtcNow() - lastWipe > TimeSpan.FromMinutes(1))
                {
                    lastWipe = clock.GetUtcNow();
                    var wiped = await WipeExpiredContactsAsync(stoppingToken);
                    if (wiped > 0)
                    {
                        logger.LogInformation("Wiped contact details of {Count} finished deliveries", wiped);
                    }
                }

                await Task.Delay(options.StatusFlushInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Status flush failed; retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }
}
