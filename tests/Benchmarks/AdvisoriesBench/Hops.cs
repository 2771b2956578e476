using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Dcis.Crisis.Advisories.Bench;

/// <summary>
/// Per-hop decomposition of scenario B. Both services run in this process, so an
/// <see cref="ActivityListener"/> sees every span of an iteration's trace (threat-levels' gRPC
/// handler, its outbox relay's publish and the gRPC call to its sidecar, advisories' subscription
/// POST and its issue span with its events); a passive XREAD on the topic's stream timestamps the
/// entry's arrival in Redis. Times are in ms from the moment the SetAssessment response reached
/// the client ("accepted"), on one clock.
/// </summary>
internal sealed class HopRecorder : IDisposable
{
    public static readonly ActivitySource Source = new("AdvisoriesBench");

    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<ActivityTraceId, ConcurrentQueue<Span>> _spans = new();
    private readonly DateTime _utcOrigin = DateTime.UtcNow;
    private readonly long _tsOrigin = Stopwatch.GetTimestamp();

    public HopRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.Source != Source && _spans.TryGetValue(a.TraceId, out var list))
                {
                    var start = a.StartTimeUtc;
                    list.Enqueue(new Span(
                        Label(a),
                        start,
                        start + a.Duration,
                        [.. a.Events.Select(e => (e.Name, e.Timestamp.UtcDateTime))]));
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Starts tracking a trace (call with the iteration's root activity).</summary>
    public void Track(ActivityTraceId trace) => _spans[trace] = new ConcurrentQueue<Span>();

    public DateTime Utc(long stopwatchTimestamp) => _utcOrigin + Stopwatch.GetElapsedTime(_tsOrigin, stopwatchTimestamp);

    /// <summary>Milestones of one iteration, in ms from accepted.</summary>
    public Dictionary<string, double> Milestones(ActivityTraceId trace, long acceptedTs, long? redisArrivalTs, long receivedTs)
    {
        var accepted = Utc(acceptedTs);
        double Ms(DateTime t) => (t - accepted).TotalMilliseconds;
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!_spans.TryGetValue(trace, out var spans))
        {
            return result;
        }

        foreach (var s in spans.OrderBy(s => s.Start))
        {
            result.TryAdd(s.Label + " start", Ms(s.Start));
            result.TryAdd(s.Label + " end", Ms(s.End));
            foreach (var (name, at) in s.Events)
            {
                result.TryAdd(s.Label + " @" + name, Ms(at));
            }
        }

        if (redisArrivalTs is { } arrival)
        {
            result["redis: entry seen by passive XREAD"] = Ms(Utc(arrival));
        }

        result[Received] = Ms(Utc(receivedTs));
        return result;
    }

    public void Dispose() => _listener.Dispose();

    private static string Label(Activity a)
    {
        var name = a.DisplayName;
        return a.Source.Name switch
        {
            "Microsoft.AspNetCore" when name.Contains("SetAssessment", StringComparison.Ordinal) => "threat-levels: SetAssessment handler",
            "Microsoft.AspNetCore" when name.Contains("threat-level-changed", StringComparison.Ordinal) => "advisories: POST events/threat-level-changed",
            "Microsoft.AspNetCore" => "server: " + name,
            "System.Net.Http" when a.Parent is { Source.Name: "Dcis.Crisis" } p => "relay: gRPC call to the sidecar under '" + p.DisplayName + "'",
            "System.Net.Http" => "http client: " + name,
            "Dcis.Crisis" when name.EndsWith(" publish", StringComparison.Ordinal) => "relay: span '" + name + "'",
            _ => a.Source.Name + ": " + name,
        };
    }

    private sealed record Span(string Label, DateTime Start, DateTime End, (string Name, DateTime At)[] Events);

    /// <summary>Key of an iteration's GC pause in this process (a duration, not a milestone).</summary>
    public const string GcPaused = "gc paused";

    /// <summary>Key of the last milestone: the advisory on the company's stream.</summary>
    public const string Received = "bench: advisory received on stream";

    /// <summary>Prints one traced pass: its end-to-end p50/p99, every milestone, and the slowest iterations.</summary>
    public static void PrintPass(string label, List<Dictionary<string, double>> iterations)
    {
        var total = Stats.Of([.. iterations.Select(i => i[Received])]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {label} ({iterations.Count} changes, p50 {total.P50:F1} ms, p99 {total.P99:F1} ms with the tracing's own cost):"));
        Print(iterations);
        PrintSlowest(iterations, 3);
    }

    /// <summary>Prints the milestones of the slowest iterations (what the tail is made of), each hop's delta.</summary>
    public static void PrintSlowest(List<Dictionary<string, double>> iterations, int count)
    {
        foreach (var iteration in iterations.Where(i => i.ContainsKey(Received)).OrderByDescending(i => i[Received]).Take(count))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   slow iteration: {iteration[Received]:F2} ms; GC paused this process {iteration.GetValueOrDefault(GcPaused):F1} ms during it"));
            var previous = double.NaN;
            foreach (var (key, value) in iteration.Where(p => p.Key != GcPaused).OrderBy(p => p.Value))
            {
                var delta = double.IsNaN(previous) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"  (+{value - previous:F2})");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"     {value,8:F2}  {key}{delta}"));
                previous = value;
            }
        }
    }

    /// <summary>Prints p50/p99 of every milestone over the iterations, in time order.</summary>
    public static void Print(List<Dictionary<string, double>> iterations)
    {
        var keys = iterations.SelectMany(i => i.Keys).Where(k => k != GcPaused).Distinct(StringComparer.Ordinal).ToList();
        var rows = keys.Select(k =>
        {
            var values = iterations.Where(i => i.ContainsKey(k)).Select(i => i[k]).ToList();
            var stats = Stats.Of(values);
            return (Key: k, Stats: stats);
        }).OrderBy(r => r.Stats.P50).ToList();
        Console.WriteLine($"   hop milestones, ms from accepted (n={iterations.Count}; p50 / p99 of each milestone):");
        var previous = double.NaN;
        foreach (var (key, stats) in rows)
        {
            var delta = double.IsNaN(previous) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"  (+{stats.P50 - previous:F2})");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"     {stats.P50,8:F2} / {stats.P99,8:F2}  {key}{delta}  [n={stats.N}]"));
            previous = stats.P50;
        }
    }
}

/// <summary>Timestamps each entry of a stream as it arrives, with a passive XREAD BLOCK (no group: nothing is consumed).</summary>
internal sealed class StreamObserver : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentQueue<long> _arrivals = new();

    private StreamObserver(ConnectionMultiplexer connection, string key)
    {
        _connection = connection;
        _loop = Task.Run(() => LoopAsync(key));
    }

    public int Count => _arrivals.Count;

    public string? LastError { get; private set; }

    public long Length { get; private set; } = -1;

    public static async Task<StreamObserver> StartAsync(string endPoint, string key)
    {
        var options = ConfigurationOptions.Parse(endPoint);
        options.AsyncTimeout = 10_000;
        // RESP2: XREAD replies as nested arrays (RESP3 returns a map, which the parsing below does not read).
        options.Protocol = RedisProtocol.Resp2;
        return new StreamObserver(await ConnectionMultiplexer.ConnectAsync(options), key);
    }

    public long? At(int index) => index < _arrivals.Count ? _arrivals.ElementAt(index) : null;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
        await _connection.DisposeAsync();
        _stop.Dispose();
    }

    private async Task LoopAsync(string key)
    {
        var db = _connection.GetDatabase();
        var last = "$";
        try
        {
            Length = await db.StreamLengthAsync(key);
            var newest = await db.StreamRangeAsync(key, "-", "+", 1, Order.Descending);
            last = newest.Length == 0 ? "0-0" : (string)newest[0].Id!;
        }
        catch (Exception e)
        {
            LastError = "start: " + e.GetType().Name + ": " + e.Message;
        }
        while (!_stop.IsCancellationRequested)
        {
            RedisResult result;
            try
            {
                result = await db.ExecuteAsync("XREAD", "BLOCK", "1000", "STREAMS", key, last);
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                LastError = e.GetType().Name + ": " + e.Message;
                continue;
            }

            var now = Stopwatch.GetTimestamp();
            if (result.IsNull)
            {
                continue;
            }

            try
            {
                // [[key, [[id, fields], ...]]]
                foreach (var stream in (RedisResult[])result!)
                {
                    foreach (var entry in (RedisResult[])((RedisResult[])stream!)[1]!)
                    {
                        last = (string)((RedisResult[])entry!)[0]!;
                        _arrivals.Enqueue(now);
                    }
                }
            }
            catch (InvalidCastException e)
            {
                LastError = "reply: " + e.Message;
                return;
            }
        }
    }
}

/// <summary>CPU time of the processes taking part, from /proc (Linux), to tell what each change costs each of them.</summary>
internal sealed class CpuMeter(IReadOnlyList<(string Name, int Pid)> processes)
{
    private double[] _start = [];

    public void Start() => _start = [.. processes.Select(p => Read(p.Pid))];

    /// <summary>One line: CPU ms per change of every process since <see cref="Start"/>.</summary>
    public string PerChange(int changes)
    {
        var parts = processes.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"{p.Name} {(Read(p.Pid) - _start[i]) / changes:F2}"));
        var total = processes.Select((p, i) => Read(p.Pid) - _start[i]).Sum() / changes;
        return string.Create(CultureInfo.InvariantCulture, $"CPU ms per change: {string.Join(", ", parts)}; all {total:F2}");
    }

    /// <summary>utime + stime of a process, in ms (clock ticks of 10 ms).</summary>
    private static double Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}

/// <summary>Round trips sampled one after another, the way the baselines and the floor take them.</summary>
internal static class RoundTrips
{
    /// <summary>Runs <paramref name="roundTrip"/> <paramref name="n"/> times, each after <paramref name="idleBefore"/> of nothing if given.</summary>
    public static async Task<List<double>> RepeatAsync(Func<Task<double>> roundTrip, int n, TimeSpan idleBefore = default)
    {
        var latencies = new List<double>(n);
        for (var i = 0; i < n; i++)
        {
            if (idleBefore > TimeSpan.Zero)
            {
                await Task.Delay(idleBefore);
            }

            latencies.Add(await roundTrip());
        }

        return latencies;
    }
}
