using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Consular.Storage;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Consular.Jobs;

/// <summary>What one pass of the background job did.</summary>
internal sealed record JobReport(int AlertsExpired, long Reminded, long FollowUps, long TripLegsPurged, long PeoplePurged, bool RetentionRan);

/// <summary>
/// Time-driven work, with the time passed in (tests call <see cref="RunDueAsync"/> with a
/// controlled clock): alert expiry, wellbeing reminders and follow-ups, and the daily retention purge.
/// </summary>
internal sealed class ConsularJobs(SqliteDatabase database, AlertStore alerts, WellbeingStore wellbeing, RegistryStore registry, ILogger<ConsularJobs> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<JobReport> RunDueAsync(DateTimeOffset now, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var expired = await alerts.ExpireDueAsync(now, ct);
            var (reminded, followUps) = await wellbeing.RunDueAsync(now, ct);
            long legs = 0, people = 0;
            var retention = await IsRetentionDueAsync(now, ct);
            if (retention)
            {
                (legs, people) = await registry.PurgeExpiredAsync(now, ct);
                logger.LogInformation("Retention purge: {Legs} trip legs deleted, {People} people erased", legs, people);
            }

            return new JobReport(expired, reminded, followUps, legs, people, retention);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private async Task<bool> IsRetentionDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command("""
            INSERT INTO job_runs(job, last_run) VALUES ('retention', $now)
            ON CONFLICT(job) DO UPDATE SET last_run = excluded.last_run WHERE job_runs.last_run <= $dayAgo
            """, null, ("$now", Iso.Time(now)), ("$dayAgo", Iso.Time(now.AddDays(-1))));
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }
}

/// <summary>Runs <see cref="ConsularJobs"/> every interval with the injected clock.</summary>
internal sealed class ConsularJobRunner(ConsularJobs jobs, TimeProvider time, ConsularSettings settings, ILogger<ConsularJobRunner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.JobInterval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.JobInterval, time);
        do
        {
            try
            {
                await jobs.RunDueAsync(time.GetUtcNow(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Consular background job failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
