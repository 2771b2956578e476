using System.Diagnostics;
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
/// <remarks>
/// The relay runs once per commit that has events, so its own cost is paid per event: it keeps one
/// connection with its two statements prepared (no pool round trip, pragmas or statement parsing
/// per pass), marks a batch sent with one range update, and reads again only when the batch it
/// published was full.
/// </remarks>
public sealed class OutboxRelay(
    SqliteDatabase database,
    IEventPublisher publisher,
    OutboxSignal signal,
    ILogger<OutboxRelay> logger,
    OutboxRelayOptions? options = null) : BackgroundService
{
    private const string SelectSql =
        "SELECT seq, event_id, topic, type, data, traceparent, created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $n";

    // A batch is a prefix of the unsent rows in seq order, and a row committed later has a higher seq
    // (SQLite has one writer at a time): the range marks exactly the rows published.
    private const string MarkSql = "UPDATE outbox SET sent_at = $at WHERE seq BETWEEN $first AND $last AND sent_at IS NULL";

    private static readonly Histogram<double> LagSeconds = CrisisTelemetry.Meter.CreateHistogram<double>(
        "crisis.outbox.lag", "s", "Time from an event's commit to its publication");

    private static readonly Counter<long> Published = CrisisTelemetry.Meter.CreateCounter<long>(
        "crisis.outbox.published", "{event}", "Events published by the outbox relay");

    private readonly OutboxRelayOptions _options = options ?? new OutboxRelayOptions();
    private readonly SemaphoreSlim _pass = new(1, 1);
    private KeptStatements? _kept;

    /// <summary>
    /// Publishes the unsent rows committed before the call; returns how many were published. Rows committed
    /// while it runs are left for the next call (in the loop, their commit signal brings it). Used by the loop
    /// and by tests.
    /// </summary>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            var total = 0;
            while (true)
            {
                _kept ??= new KeptStatements(await database.OpenAsync(cancellationToken));
                var (batch, full) = await ReadBatchAsync(_kept, cancellationToken);
                if (batch.Count == 0)
                {
                    return total;
                }

                await publisher.PublishAsync(batch.Select(r => r.Event).ToList(), cancellationToken);
                await MarkSentAsync(_kept, batch, cancellationToken);
                total += batch.Count;
                Published.Add(batch.Count);
                var now = DateTimeOffset.UtcNow;
                foreach (var row in batch)
                {
                    LagSeconds.Record((now - row.CreatedAt).TotalSeconds);
                }

                if (!full)
                {
                    // Rows committed meanwhile signalled the relay: the next pass takes them.
                    return total;
                }
            }
        }
        catch
        {
            if (_kept is { IsOpen: false })
            {
                _kept.Dispose();
                _kept = null;
            }

            throw;
        }
        finally
        {
            _pass.Release();
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _kept?.Dispose();
        _kept = null;
        _pass.Dispose();
        base.Dispose();
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
                if (await signal.WaitAsync(_options.PollInterval, stoppingToken))
                {
                    await LingerAsync(stoppingToken);
                }
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

    /// <summary>With <see cref="OutboxRelayOptions.Linger"/>: waits until commits pause for that long
    /// (at most <see cref="OutboxRelayOptions.MaxLinger"/>), so that a burst goes out as one batch.</summary>
    private async Task LingerAsync(CancellationToken stoppingToken)
    {
        if (_options.Linger <= TimeSpan.Zero)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < _options.MaxLinger && await signal.WaitAsync(_options.Linger, stoppingToken))
        {
        }
    }

    private async Task<(List<PendingRow> Rows, bool Full)> ReadBatchAsync(KeptStatements kept, CancellationToken cancellationToken)
    {
        var rows = new List<PendingRow>();
        long bytes = 0;
        await using var reader = await kept.Command(SelectSql, null, ("$n", _options.BatchSize)).ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // A bulk publish must stay under the sidecar's request limit (daprd: 4 MiB by default), and
            // a 1,000-recipient batch is ~200 KB: cap by size as well as by count.
            // The stored UTF-8 text as it is: what the publish sends (no string decoded and encoded again).
            var data = reader.GetFieldValue<byte[]>(4);
            if (rows.Count > 0 && bytes + data.Length > _options.MaxBatchBytes)
            {
                return (rows, true);
            }

            bytes += data.Length;
            rows.Add(new PendingRow(
                reader.GetInt64(0),
                new OutgoingEvent(reader.GetString(2), reader.GetString(1), reader.GetString(3), data, reader.IsDBNull(5) ? null : reader.GetString(5)),
                DateTimeOffset.Parse(reader.GetString(6), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return (rows, rows.Count >= _options.BatchSize);
    }

    private static async Task MarkSentAsync(KeptStatements kept, List<PendingRow> batch, CancellationToken cancellationToken)
    {
        var mark = kept.Command(MarkSql, null, ("$at", DateTimeOffset.UtcNow.ToString("O")), ("$first", batch[0].Seq), ("$last", batch[^1].Seq));
        await mark.ExecuteNonQueryAsync(cancellationToken);
    }

    private sealed record PendingRow(long Seq, OutgoingEvent Event, DateTimeOffset CreatedAt);
}

/// <summary>Relay tuning.</summary>
public sealed record OutboxRelayOptions
{
    /// <summary>Most rows per publish pass (one bulk call per topic on the sidecar's own channel).</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Safety-net poll when no commit signal arrives (e.g. rows written by another process).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most event data per publish pass, in bytes of UTF-8 JSON (under daprd's 4 MiB request limit).</summary>
    public long MaxBatchBytes { get; init; } = 3 * 1024 * 1024;

    /// <summary>
    /// Quiet time to wait for after a commit before publishing (zero: publish at once). For a service
    /// whose events are not on anyone's latency path, a burst of commits then goes out in one bulk
    /// publish per topic instead of one call per commit, and its publishing does not compete for the
    /// CPU with the commits still coming.
    /// </summary>
    public TimeSpan Linger { get; init; }

    /// <summary>Longest a publish is held back by <see cref="Linger"/> under continuous commits.</summary>
    public TimeSpan MaxLinger { get; init; } = TimeSpan.FromMilliseconds(50);
}
