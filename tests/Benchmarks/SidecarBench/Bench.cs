using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Dapr.AspNetCore;
using Dapr.Client;
using Dcis.Crisis.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using StackExchange.Redis;

namespace Dcis.Crisis.Benchmarks.SidecarBench;

/// <summary>A benchmark event: its id and the Stopwatch timestamp at which it was sent.</summary>
public sealed record BenchEvent(int N, long Sent, string Padding);

/// <summary>
/// Prints, in one run on the same machine and payload: the raw Redis XADD→XREADGROUP rate and
/// latency, the publish→deliver rate and latency through the dev sidecar (single publish, bulk publish
/// with one POST per message, bulk publish with bulk subscribe), and their ratios.
/// </summary>
public static class Bench
{
    private const string Topic = "bench";
    private const string BulkTopic = "bench-bulk";

    public static async Task RunAsync(int messages)
    {
        var padding = new string('x', 160);
        await using var redis = await RedisServer.StartAsync();
        Console.WriteLine($"delivery concurrency: {Environment.GetEnvironmentVariable("BENCH_CONCURRENCY") ?? "10"}");
        Console.WriteLine($"messages per run: {messages}; payload ≈ {JsonSerializer.Serialize(new BenchEvent(0, 0, padding)).Length} bytes; cores: {Environment.ProcessorCount}");

        // Warm-up of the baseline (JIT tiering, connections, Redis allocations): at least 3 full-size runs,
        // then more (at most 6) while the last one still beats the best before it by over 10 %, so that
        // round 1's ratio is not taken against a cold baseline.
        var warm = new List<double>();
        for (var i = 0; i < 6 && (warm.Count < 3 || warm[^1] > 1.1 * warm[..^1].Max()); i++)
        {
            warm.Add((await RawRedisAsync(redis, $"raw-warm-up-{i}", messages, padding)).Rate);
        }

        Console.WriteLine($"raw baseline warm-up runs: {string.Join(", ", warm.Select(r => $"{r:0}"))} msg/s");
        var bulkCount = int.Parse(Environment.GetEnvironmentVariable("BENCH_BULK_COUNT") ?? "100", System.Globalization.CultureInfo.InvariantCulture);
        const int BulkAwaitMs = 100;
        Console.WriteLine($"bulk subscribe: maxMessagesCount {bulkCount}, maxAwaitDurationMs {BulkAwaitMs}, on a component with concurrency {bulkCount}");

        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint, "bench-pubsub", new Dictionary<string, string>
        {
            // The component of deploy/components (concurrency 10, Dapr's default) unless overridden.
            ["concurrency"] = Environment.GetEnvironmentVariable("BENCH_CONCURRENCY") ?? "10",
            ["queueDepth"] = "200",
        });
        // Bulk subscribe over pubsub.redis needs concurrency >= maxMessagesCount (on daprd too): each Redis worker
        // holds one entry until its batch is answered, so a batch never holds more than `concurrency` entries and
        // a batch below maxMessagesCount waits for the maxAwaitDurationMs ticker.
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint, "bench-bulk-pubsub", new Dictionary<string, string>
        {
            ["concurrency"] = bulkCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["queueDepth"] = Math.Max(200, 2 * bulkCount).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var received = new ConcurrentQueue<(int N, long Latency)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var appPort = FreePort.Next();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(appPort, o => o.Protocols = HttpProtocols.Http1));
        await using var app = builder.Build();
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapPost("events/bench", (BenchEvent e) =>
        {
            received.Enqueue((e.N, Stopwatch.GetTimestamp() - e.Sent));
            return Results.Ok();
        }).WithTopic("bench-pubsub", Topic);
        // A standard Dapr.AspNetCore bulk endpoint (application/json envelope, not unwrapped by UseCloudEvents).
        app.MapPost("events/bench-bulk", (BulkSubscribeMessage<BulkMessageModel<BenchEvent>> message) =>
        {
            var now = Stopwatch.GetTimestamp();
            var statuses = new List<BulkSubscribeAppResponseEntry>(message.Entries.Count);
            foreach (var entry in message.Entries)
            {
                received.Enqueue((entry.Event.Data.N, now - entry.Event.Data.Sent));
                statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, BulkSubscribeAppResponseStatus.SUCCESS));
            }

            return Results.Json(new BulkSubscribeAppResponse(statuses));
        })
        .WithTopic("bench-bulk-pubsub", BulkTopic)
        .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = BulkTopic, MaxMessagesCount = bulkCount, MaxAwaitDurationMs = BulkAwaitMs });
        await app.StartAsync();

        await using var publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "bench-pub", ResourcesPaths = [resources.Path] });
        await using var subscriber = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "bench-sub", AppPort = appPort, ResourcesPaths = [resources.Path] });
        await subscriber.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(publisher.GrpcEndpoint).UseHttpEndpoint(publisher.HttpEndpoint).Build();

        // Warm-up: JIT, connections, HTTP/2 channel.
        await SidecarAsync(client, received, Math.Min(500, messages), padding, bulk: true);
        await SidecarAsync(client, received, Math.Min(500, messages), padding, bulk: true, BulkTopic, "bench-bulk-pubsub");

        // The machine is shared and noisy: baseline and sidecar run interleaved, round after round,
        // so that each ratio compares figures taken under the same load.
        const int Rounds = 3;
        var cpu = new CpuMeter(redis.Port);
        await using var statsConnection = await ConnectionMultiplexer.ConnectAsync(redis.EndPoint + ",allowAdmin=true");
        var commands = new CommandMeter(statsConnection.GetServer(redis.EndPoint));
        await commands.ReportAsync(1);
        var singleRatios = new List<double>();
        var bulkRatios = new List<double>();
        var bulkSubRatios = new List<double>();
        // Round 0 is a full, uncounted round (raw, bulk, bulk subscribe): the raw baseline kept getting
        // faster across rounds after the raw-only warm-up (the whole process warms, not just the raw path).
        for (var round = 0; round <= Rounds; round++)
        {
            Console.WriteLine(round == 0 ? $"warm-up round, not counted (load average {LoadAverage()})" : $"round {round} (load average {LoadAverage()})");
            var raw = await RawRedisAsync(redis, $"raw-{round}", messages, padding);
            Report("raw Redis XADD→XREADGROUP+XACK", raw);
            cpu.Report(messages);
            await commands.ReportAsync(messages);
            if (round == 1)
            {
                // Single publish is slow (one call per event): measured once, against this round's baseline.
                var single = await SidecarAsync(client, received, messages, padding, bulk: false);
                Report("dev sidecar, single publish (16 in flight)", single);
                cpu.Report(messages);
                await commands.ReportAsync(messages);
                singleRatios.Add(single.Rate / raw.Rate);
            }

            var bulk = await SidecarAsync(client, received, messages, padding, bulk: true);
            Report("dev sidecar, bulk publish (batches of 500)", bulk);
            cpu.Report(messages);
            await commands.ReportAsync(messages);
            var bulkSub = await SidecarAsync(client, received, messages, padding, bulk: true, BulkTopic, "bench-bulk-pubsub");
            Report($"dev sidecar, bulk publish + bulk subscribe ({bulkCount})", bulkSub);
            cpu.Report(messages);
            await commands.ReportAsync(messages);
            if (round > 0)
            {
                bulkRatios.Add(bulk.Rate / raw.Rate);
                bulkSubRatios.Add(bulkSub.Rate / raw.Rate);
            }

            if (round == Rounds)
            {
                // What the app alone costs: the envelopes POSTed straight to it (no sidecar, no Redis) by
                // an HTTP client in this process, 10 in flight. No sidecar can deliver faster than this.
                var floor = await DirectToAppAsync(appPort, received, messages, padding);
                Report("no sidecar: HTTP POST straight to the app", floor);
                cpu.Report(messages);
                await commands.ReportAsync(messages);
                Console.WriteLine($"    ratio direct/raw {floor.Rate / raw.Rate:0.00}× (the ceiling for any sidecar on this machine now)");
            }
            Console.WriteLine($"    ratio bulk/raw {bulk.Rate / raw.Rate:0.00}×, p99 bulk {bulk.P99Ms:0.0} ms vs raw {raw.P99Ms:0.0} ms");
            Console.WriteLine($"    ratio bulk-subscribe/raw {bulkSub.Rate / raw.Rate:0.00}×, p99 bulk-subscribe {bulkSub.P99Ms:0.0} ms vs raw {raw.P99Ms:0.0} ms");
        }

        Console.WriteLine();
        Console.WriteLine($"ratio single/raw rate: {singleRatios[0]:0.00}× (round 1)");
        Console.WriteLine($"ratio bulk publish, per-message delivery/raw rate: {string.Join(", ", bulkRatios.Select(r => $"{r:0.00}×"))}; median {bulkRatios.Order().ElementAt(Rounds / 2):0.00}×");
        Console.WriteLine($"ratio bulk publish + bulk subscribe/raw rate:     {string.Join(", ", bulkSubRatios.Select(r => $"{r:0.00}×"))}; median {bulkSubRatios.Order().ElementAt(Rounds / 2):0.00}×   (target ≥ 0.30×)");

        // Latency of one event at a time on an otherwise idle path (what a single level change sees,
        // not a fan-out): the next event is sent once the previous one was delivered.
        Console.WriteLine();
        Console.WriteLine($"one event at a time, {OneAtATime} events (load average {LoadAverage()}):");
        var rawOne = await RawRedisAsync(redis, "raw-one-at-a-time", OneAtATime, padding, oneAtATime: true);
        Report("raw Redis XADD→XREADGROUP BLOCK", rawOne);
        var (sidecarOne, publishCall) = await SidecarOneAtATimeAsync(client, received, padding);
        Report("dev sidecar, publish→deliver", sidecarOne);
        Report("  of which the PublishEvent call", publishCall);
        Console.WriteLine($"    p50 {sidecarOne.P50Ms / rawOne.P50Ms:0.0}× and p99 {sidecarOne.P99Ms / rawOne.P99Ms:0.0}× raw");
        Console.WriteLine($"load average at the end: {LoadAverage()}");
    }

    private const int OneAtATime = 500;

    private static async Task<(Result Deliver, Result Call)> SidecarOneAtATimeAsync(DaprClient client, ConcurrentQueue<(int N, long Latency)> received, string padding)
    {
        received.Clear();
        var calls = new List<long>(OneAtATime);
        var started = Stopwatch.StartNew();
        for (var i = 0; i < OneAtATime; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            await client.PublishEventAsync("bench-pubsub", Topic, new BenchEvent(i, sent, padding));
            calls.Add(Stopwatch.GetTimestamp() - sent);
            while (received.Count <= i)
            {
                await Task.Delay(1);
            }
        }

        var elapsed = started.Elapsed;
        return (Summarize(OneAtATime, elapsed, received.Select(r => r.Latency)), Summarize(OneAtATime, elapsed, calls));
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private sealed record Result(double Rate, double P50Ms, double P99Ms);

    private static void Report(string name, Result r) =>
        Console.WriteLine($"{name,-50} {r.Rate,10:0} msg/s   p50 {r.P50Ms,7:0.00} ms   p99 {r.P99Ms,7:0.00} ms");

    private static Result Summarize(int count, TimeSpan elapsed, IEnumerable<long> latencyTicks)
    {
        var sorted = latencyTicks.Order().ToArray();
        double Ms(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1000.0 / Stopwatch.Frequency;
        return new Result(count / elapsed.TotalSeconds, Ms(0.50), Ms(0.99));
    }

    /// <summary>
    /// Raw XADD -> XREADGROUP BLOCK (acknowledged as read): all messages sent at once, or with
    /// <paramref name="oneAtATime"/> each sent once the previous one was read.
    /// </summary>
    private static async Task<Result> RawRedisAsync(RedisServer redis, string stream, int messages, string padding, bool oneAtATime = false)
    {
        // RESP2 replies (stream entries as arrays), as the dev sidecar reads them.
        var options = ConfigurationOptions.Parse(redis.EndPoint);
        options.Protocol = RedisProtocol.Resp2;
        await using var producerConnection = await ConnectionMultiplexer.ConnectAsync(options);
        await using var readerConnection = await ConnectionMultiplexer.ConnectAsync(options);
        var producer = producerConnection.GetDatabase();
        var reader = readerConnection.GetDatabase();
        await producer.ExecuteAsync("XGROUP", "CREATE", stream, "g", "0", "MKSTREAM");
        var latencies = new ConcurrentQueue<long>();
        var consumer = Task.Run(async () =>
        {
            while (latencies.Count < messages)
            {
                var result = await reader.ExecuteAsync("XREADGROUP", "GROUP", "g", "g", "COUNT", "100", "BLOCK", "1000", "STREAMS", stream, ">");
                if (result.IsNull)
                {
                    continue;
                }

                var acks = new List<Task>();
                foreach (var reply in (RedisResult[])result!)
                {
                    foreach (var entry in (RedisResult[])((RedisResult[])reply!)[1]!)
                    {
                        var parts = (RedisResult[])entry!;
                        var fields = (RedisResult[])parts[1]!;
                        var e = JsonSerializer.Deserialize<BenchEvent>((byte[])fields[1]!)!;
                        latencies.Enqueue(Stopwatch.GetTimestamp() - e.Sent);
                        acks.Add(producer.ExecuteAsync("XACK", stream, "g", (string)parts[0]!));
                    }
                }

                await Task.WhenAll(acks);
            }
        });
        var started = Stopwatch.StartNew();
        var sends = new List<Task>(messages);
        for (var i = 0; i < messages; i++)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new BenchEvent(i, Stopwatch.GetTimestamp(), padding));
            sends.Add(producer.ExecuteAsync("XADD", stream, "*", "data", bytes));
            while (oneAtATime && latencies.Count <= i)
            {
                await Task.Delay(1);
            }
        }

        await Task.WhenAll(sends);
        await consumer;
        return Summarize(messages, started.Elapsed, latencies);
    }

    private static async Task<Result> DirectToAppAsync(int appPort, ConcurrentQueue<(int N, long Latency)> received, int messages, string padding)
    {
        received.Clear();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}/") };
        using var window = new SemaphoreSlim(10);
        var started = Stopwatch.StartNew();
        var sends = Enumerable.Range(0, messages).Select(async i =>
        {
            await window.WaitAsync();
            try
            {
                var data = JsonSerializer.Serialize(new BenchEvent(i, Stopwatch.GetTimestamp(), padding));
                var envelope = $$"""{"data":{{data}},"datacontenttype":"application/json","id":"{{Guid.NewGuid()}}","pubsubname":"bench-pubsub","source":"bench-pub","specversion":"1.0","topic":"bench","type":"com.dapr.event.sent"}""";
                using var content = new StringContent(envelope, System.Text.Encoding.UTF8);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/cloudevents+json");
                using var response = await http.PostAsync(new Uri("events/bench", UriKind.Relative), content);
                response.EnsureSuccessStatusCode();
            }
            finally
            {
                window.Release();
            }
        }).ToList();
        await Task.WhenAll(sends);
        var elapsed = started.Elapsed;
        return Summarize(messages, elapsed, received.Select(r => r.Latency));
    }

    private static async Task<Result> SidecarAsync(DaprClient client, ConcurrentQueue<(int N, long Latency)> received, int messages, string padding, bool bulk, string topic = Topic, string pubsub = "bench-pubsub")
    {
        received.Clear();
        var started = Stopwatch.StartNew();
        if (bulk)
        {
            for (var offset = 0; offset < messages; offset += 500)
            {
                var batch = Enumerable.Range(offset, Math.Min(500, messages - offset))
                    .Select(i => new BenchEvent(i, Stopwatch.GetTimestamp(), padding)).ToList();
                var response = await client.BulkPublishEventAsync(pubsub, topic, batch);
                if (response.FailedEntries.Count > 0)
                {
                    throw new InvalidOperationException($"{response.FailedEntries.Count} entries failed");
                }
            }
        }
        else
        {
            using var window = new SemaphoreSlim(16);
            var sends = Enumerable.Range(0, messages).Select(async i =>
            {
                await window.WaitAsync();
                try
                {
                    await client.PublishEventAsync(pubsub, topic, new BenchEvent(i, Stopwatch.GetTimestamp(), padding));
                }
                finally
                {
                    window.Release();
                }
            }).ToList();
            await Task.WhenAll(sends);
        }

        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (received.Count < messages && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        var elapsed = started.Elapsed;
        if (received.Count < messages)
        {
            throw new TimeoutException($"only {received.Count}/{messages} delivered");
        }

        return Summarize(messages, elapsed, received.Select(r => r.Latency));
    }
}

/// <summary>
/// Redis commands per message of a phase (INFO commandstats deltas): how many XADD, XREADGROUP and
/// XACK calls each message cost, i.e. how well each side batches.
/// </summary>
public sealed class CommandMeter(IServer server)
{
    private static readonly string[] Watched = ["xadd", "xreadgroup", "xack", "xpending", "xclaim"];
    private Dictionary<string, long> _last = [];

    public async Task ReportAsync(int messages)
    {
        var now = new Dictionary<string, long>();
        foreach (var group in await server.InfoAsync("commandstats"))
        {
            foreach (var (key, value) in group)
            {
                // cmdstat_xack:calls=12,usec=...
                var name = key.Replace("cmdstat_", "", StringComparison.Ordinal);
                if (Watched.Contains(name))
                {
                    var calls = value.Split(',')[0].Split('=')[1];
                    now[name] = long.Parse(calls, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        if (_last.Count > 0 || messages > 1)
        {
            var parts = Watched.Where(now.ContainsKey).Select(n => $"{n} {(double)(now[n] - _last.GetValueOrDefault(n)) / messages:0.000}");
            Console.WriteLine($"    Redis calls per message: {string.Join(", ", parts)}");
        }

        _last = now;
    }
}

/// <summary>
/// CPU time per message of each process of a phase (this process: publisher client and subscriber
/// app; the two sidecars; redis-server), read from /proc: shows where the time goes on a shared machine.
/// </summary>
public sealed class CpuMeter
{
    private readonly int _redisPort;
    private Dictionary<string, double> _last;
    private Dictionary<string, long> _lastSwitches = [];

    public CpuMeter(int redisPort)
    {
        _redisPort = redisPort;
        _last = Snapshot();
    }

    public void Report(int messages)
    {
        var switches = _lastSwitches;
        var now = Snapshot();
        var parts = now.Select(kv => $"{kv.Key} {(kv.Value - _last.GetValueOrDefault(kv.Key)) * 1e6 / messages:0} µs");
        Console.WriteLine($"    CPU per message: {string.Join(", ", parts)}");
        // Context switches (all threads, voluntary + involuntary) count thread hand-offs; unlike CPU time
        // they barely move with the machine's load.
        var hops = _lastSwitches.Select(kv => $"{kv.Key} {(double)(kv.Value - switches.GetValueOrDefault(kv.Key)) / messages:0.00}");
        Console.WriteLine($"    context switches per message: {string.Join(", ", hops)}");
        _last = now;
    }

    /// <summary>Voluntary + involuntary context switches of every thread of a process (from /proc).</summary>
    private static long ContextSwitches(int pid)
    {
        long total = 0;
        try
        {
            foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)
                            || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            total += long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                        }
                    }
                }
                catch (IOException)
                {
                    // The thread exited.
                }
            }
        }
        catch (IOException)
        {
            // The process exited.
        }

        return total;
    }

    private Dictionary<string, double> Snapshot()
    {
        var switches = new Dictionary<string, long> { ["bench (client+app)"] = ContextSwitches(Environment.ProcessId) };
        _lastSwitches = switches;
        var result = new Dictionary<string, double> { ["bench (client+app)"] = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds };
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            var name = cmdline.Contains("--app-id bench-pub", StringComparison.Ordinal) ? "publisher sidecar"
                : cmdline.Contains("--app-id bench-sub", StringComparison.Ordinal) ? "subscriber sidecar"
                : cmdline.Contains("redis-server", StringComparison.Ordinal) && cmdline.Contains($":{_redisPort}", StringComparison.Ordinal) ? "redis"
                : null;
            if (name is null)
            {
                continue;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                result[name] = process.TotalProcessorTime.TotalSeconds;
                switches[name] = ContextSwitches(pid);
            }
            catch (ArgumentException)
            {
                // Exited.
            }
        }

        return result;
    }
}
