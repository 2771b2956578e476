using System.Diagnostics;

namespace Dcis.Crisis.ThreatLevels.Bench;

/// <summary>Result of a comparison: the baseline and the measured call, over interleaved rounds.</summary>
internal sealed record PairResult(string Baseline, string Measured, Stats BaselineStats, Stats MeasuredStats, double MedianThroughputRatio);

/// <summary>Aggregated figures of one side.</summary>
internal sealed record Stats(long Calls, double Seconds, double P50Ms, double P99Ms, double CpuMsPerCall, long Errors)
{
    public double PerSecond => Calls / Seconds;
}

/// <summary>
/// Closed-loop load (N workers, each waits for its call before the next). The baseline and the
/// measured call alternate in short rounds, so that a change of machine load (other builds on a shared
/// box) hits both sides alike; the ratio reported is the median of the per-round ratios. Process CPU
/// per call is reported too: it is far less sensitive to other processes than wall-clock throughput.
/// </summary>
internal static class LoadRunner
{
    public static async Task<PairResult> CompareAsync(string baselineName, Func<int, Task> baseline, string measuredName, Func<int, Task> measured,
        int concurrency, TimeSpan warmUp, TimeSpan roundDuration, int rounds)
    {
        await RunAsync(concurrency, warmUp, baseline);
        await RunAsync(concurrency, warmUp, measured);
        var b = new List<Round>();
        var m = new List<Round>();
        for (var r = 0; r < rounds; r++)
        {
            b.Add(await RunAsync(concurrency, roundDuration, baseline));
            m.Add(await RunAsync(concurrency, roundDuration, measured));
        }

        var ratios = b.Zip(m, (x, y) => (y.Latencies.Length / y.Seconds) / (x.Latencies.Length / x.Seconds)).Order().ToArray();
        return new PairResult(baselineName, measuredName, Aggregate(b), Aggregate(m), ratios[ratios.Length / 2]);
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
