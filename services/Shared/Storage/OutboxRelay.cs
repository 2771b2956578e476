using System.Diagnostics.Metrics;
using Dcis.Crisis.Shared.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dcis.Crisis.Shared.Storage;

/// <summary>
/// Publishes committed outbox rows in order, in batches, and marks them sent. A crash between
/// publish and mark means the batch is published again after restart: consumers dedupe on the
/// event id (the inbox), so the effect happens once.
/// </summary>
public sealed class OutboxRelay(
    SqliteDatabase database,
    IEventPublisher publisher,
    OutboxSignal signal,
    ILogger<OutboxRelay> logger,
    OutboxRelayOptions? options = null) : BackgroundService
{
    private static readonly Histogram<double> LagSeconds = CrisisTelemetry.Meter.CreateHistogram<double>(
        "crisis.outbox.lag", "s", "Time from an event's commit to its publication");

    private static readonly Counter<long> Published = CrisisTelemetry.Meter.CreateCounter<long>(
        "crisis.outbox.published", "{event}", "Events published by the outbox relay");

    private readonly OutboxRelayOptions _options = options ?? new OutboxRelayOptions();

    /// <summary>Publishes every unsent row now; returns how many were published. Used by the loop and by tests.</summary>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var batch = await ReadBatchAsync(cancellationToken);
            if (batch.Count == 0)
            {
                return total;
            }

            await publisher.PublishAsync(batch.Select(r => r.Event).ToList(), cancellationToken);
            await MarkSentAsync(batch, cancellationToken);
            total += batch.Count;
            Published.Add(batch.Count);
            foreach (var row in batch)
            {
                LagSeconds.Record((DateTimeOffset.UtcNow - row.CreatedAt).TotalSeconds);
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await database.MigrateAsync(Outbox.Schema, stoppingToken);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PublishPendingAsync(stoppingToken);
                failures = 0;
                await signal.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The sidecar or broker is down: keep the rows and back off, capped so that
                // publishing resumes within seconds of the broker coming back.
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(failures, 6))));
                logger.LogWarning(ex, "Outbox publish failed ({Failures} in a row); retrying in {Delay}", failures, delay);
                await Task.Delay(delay, stoppingToken);
            }
        }
    }

    private async Task<List<PendingRow>> ReadBatchAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT seq, event_id, topic, type, data, traceparent, created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $n",
            null, ("$n", _options.BatchSize));
        var rows = new List<PendingRow>();
        long bytes = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // A bulk publish must stay under the sidecar's request limit (daprd: 4 MiB by default), and
            // a 1,000-recipient batch is ~200 KB: cap by size as well as by count.
            var size = reader.GetString(4).Length;
            if (rows.Count > 0 && bytes + size > _options.MaxBatchBytes)
            {
                break;
            }

            bytes += size;
            rows.Add(new PendingRow(
                reader.GetInt64(0),
                new OutgoingEvent(reader.GetString(2), reader.GetString(1), reader.GetString(3), reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)),
                DateTimeOffset.Parse(reader.GetString(6), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return rows;
    }

    private async Task MarkSentAsync(List<PendingRow> batch, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        await using var command = connection.Command("UPDATE outbox SET sent_at = $at WHERE seq = $seq", tx, ("$at", DateTimeOffset.UtcNow.ToString("O")), ("$seq", 0L));
        foreach (var row in batch)
        {
            command.Parameters["$seq"].Value = row.Seq;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
    }

    private sealed record PendingRow(long Seq, OutgoingEvent Event, DateTimeOffset CreatedAt);
}

/// <summary>Relay tuning.</summary>
public sealed record OutboxRelayOptions
{
    /// <summary>Most rows per publish pass (several bulk calls, one per topic and trace).</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Safety-net poll when no commit signal arrives (e.g. rows written by another process).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most event data per publish pass, in characters of JSON (under daprd's 4 MiB request limit).</summary>
    public long MaxBatchBytes { get; init; } = 3 * 1024 * 1024;
}
