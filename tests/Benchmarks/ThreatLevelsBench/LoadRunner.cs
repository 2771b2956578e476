using System.Diagnostics;

namespace Dcis.Crisis.ThreatLevels.Bench;

/// <summary>One side of a comparison: a name and the call a worker makes (argument: a call counter).</summary>
internal sealed record Side(string Name, Func<int, Task> Call);

/// <summary>Result of a comparison: every side's figures, and each side's throughput ratio (median of the
/// per-round ratios) to the first side and to the second.</summary>
internal sealed record ComparisonResult(IReadOnlyList<Side> Sides, IReadOnlyList<Stats> Stats, IReadOnlyList<double> MedianThroughputRatios,
    IReadOnlyList<double> MedianRatiosToSecond);

/// <summary>Aggregated figures of one side.</summary>
internal sealed record Stats(long Calls, double Seconds, double P50Ms, double P99Ms, double CpuMsPerCall, long Errors)
{
    public double PerSecond => Calls / Seconds;
}

/// <summary>
/// Closed-loop load (N workers, each waits for its call before the next). The sides alternate in
/// short rounds, so that a change of machine load (other builds on a shared box) hits all alike; the
/// ratio reported is the median of the per-round ratios to the first side. Process CPU per call is
/// reported too: it is far less sensitive to other processes than wall-clock throughput.
/// </summary>
internal static class LoadRunner
{
    public static async Task<ComparisonResult> CompareAsync(IReadOnlyList<Side> sides, int concurrency, TimeSpan warmUp, TimeSpan roundDuration, int rounds)
    {
        foreach (var side in sides)
        {
            await RunAsync(concurrency, warmUp, side.Call);
        }

        var results = sides.Select(_ => new List<Round>()).ToArray();
        for (var r = 0; r < rounds; r++)
        {
            for (var s = 0; s < sides.Count; s++)
            {
                results[s].Add(await RunAsync(concurrency, roundDuration, sides[s].Call));
            }
        }

        var ratios = results.Select(side => Median(side.Zip(results[0], (m, b) => Rate(m) / Rate(b)))).ToArray();
        var toSecond = results.Select(side => Median(side.Zip(results[Math.Min(1, results.Length - 1)], (m, b) => Rate(m) / Rate(b)))).ToArray();
        return new ComparisonResult(sides, [.. results.Select(Aggregate)], ratios, toSecond);
    }

    private static double Rate(Round r) => r.Latencies.Length / r.Seconds;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static Stats Aggregate(List<Round> rounds)
    {
        var all = rounds.SelectMany(r => r.Latencies).Order().ToArray();
        var seconds = rounds.Sum(r => r.Seconds);
        var cpu = rounds.Sum(r => r.CpuMs);
        return new Stats(all.Length, seconds, Percentile(all, 0.50), Percentile(all, 0.99), cpu / Math.Max(1, all.Length), rounds.Sum(r => r.Errors));
    }

    private sealed record Round(double[] Latencies, double Seconds, double CpuMs, long Errors);

    private static async Task<Round> RunAsync(int concurrency, TimeSpan duration, Func<int, Task> call)
    {
        var latencies = new List<double>[concurrency];
        long errors = 0;
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(100_000);
            var i = w;
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await call(i);
                }
                catch (global::Grpc.Core.RpcException)
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                i += concurrency;
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        process.Refresh();
        var cpuMs = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
        return new Round([.. latencies.SelectMany(l => l)], seconds, cpuMs, errors);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
