using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.Domain;
using Dcis.Crisis.ThreatLevels.Storage;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.ThreatLevels.Grpc;

/// <summary>
/// The live stream: replays history after the client's cursor, then follows commits. A stream
/// always reads from the history table by sequence, so resuming after a disconnect delivers exactly
/// the changes missed, in order, and a wake-up that races a commit cannot lose one.
/// </summary>
internal sealed class ChangeStreamer(ThreatLevelStore store, ChangeBroadcaster broadcaster, StreamQuota quota, ThreatLevelsOptions options, TimeProvider time)
{
    private const int BatchSize = 500;

    public async Task StreamAsync(Caller caller, WatchChangesRequest request, Func<WatchChangesResponse, Task> write, CancellationToken ct)
    {
        using var slot = quota.Acquire(caller.Subject);
        var countries = request.CountryCodes.Count > 0 ? request.CountryCodes.ToHashSet(StringComparer.Ordinal) : null;
        var cursor = request.AfterSequence;
        var lastWrite = time.GetUtcNow();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var pulse = broadcaster.NextPulse;
                var snapshot = await store.SnapshotAsync();
                if (snapshot.LatestSequence > cursor)
                {
                    var batch = await store.ChangesAfterAsync(cursor, BatchSize, ct);
                    foreach (var change in batch)
                    {
                        cursor = change.Sequence;
                        if (countries is null || countries.Contains(change.Assessment.Area.CountryCode))
                        {
                            await write(new WatchChangesResponse { Change = change });
                            lastWrite = time.GetUtcNow();
                        }
                    }

                    if (batch.Count == BatchSize)
                    {
                        continue;
                    }
                }

                var wait = options.HeartbeatInterval - (time.GetUtcNow() - lastWrite);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await pulse.WaitAsync(wait, time, ct);
                        continue;
                    }
                    catch (TimeoutException)
                    {
                        // Quiet for a whole interval: fall through to the heartbeat.
                    }
                }

                await write(new WatchChangesResponse
                {
                    Heartbeat = new Heartbeat { LatestSequence = snapshot.LatestSequence, ServerTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()) },
                });
                lastWrite = time.GetUtcNow();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away: the normal end of a live stream.
        }
    }
}
