using System.Collections.Concurrent;

namespace Dcis.Crisis.Dashboard.Browser;

/// <summary>Polls every service's and sidecar's HTTP health endpoint and keeps the latest answer in memory.</summary>
internal sealed partial class HealthMonitor(DashboardOptions options, IHttpClientFactory http, LiveUpdates live, TimeProvider clock,
    ILogger<HealthMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, HealthDto> _latest = new(StringComparer.Ordinal);

    public IReadOnlyList<HealthDto> Latest =>
        [.. options.HealthTargets.Keys.Select(k => _latest.TryGetValue(k, out var h) ? h : new HealthDto(k, "unknown", null))];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            var changed = false;
            foreach (var (name, url) in options.HealthTargets)
            {
                var status = await ProbeAsync(url, stoppingToken);
                var previous = _latest.TryGetValue(name, out var p) ? p.Status : null;
                _latest[name] = new HealthDto(name, status, clock.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                if (!string.Equals(previous, status, StringComparison.Ordinal))
                {
                    LogHealth(logger, name, status);
                    changed = true;
                }
            }

            if (changed)
            {
                live.Changed(LiveUpdates.Operations);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<string> ProbeAsync(Uri url, CancellationToken ct)
    {
        try
        {
            using var client = http.CreateClient(nameof(HealthMonitor));
            client.Timeout = TimeSpan.FromSeconds(3);
            using var response = await client.GetAsync(url, ct);
            return response.IsSuccessStatusCode ? "healthy" : "unhealthy";
        }
        catch (HttpRequestException)
        {
            return "unreachable";
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return "unreachable";
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Health of {Target} is now {Status}")]
    private static partial void LogHealth(ILogger logger, string target, string status);
}

/// <summary>The latest health answer of one service or sidecar.</summary>
internal sealed record HealthDto(string Name, string Status, string? CheckedAt);
