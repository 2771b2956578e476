using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Dcis.Crisis.Notifications.Bench;

/// <summary>
/// Runs, in one go on this machine, in interleaved rounds (args: recipients, rounds; default 100,000 and 3): (1) raw XADD with redis-benchmark against a private
/// redis-server; (2) one 100,000-recipient request (100 CloudEvent batches of 1,000, posted to the
/// subscription endpoint as the sidecar would, 4 in flight) through the notifications service in a
/// child process, until every record is written and every message handed to the sink provider
/// (an in-process counting SMS provider: the SMS gateway's HTTP hop is not measured), with the
/// service's CPU time; (3) RSS of that process (before and after) vs a bare ASP.NET Core gRPC app
/// as <c>dotnet new grpc</c> makes it, run from the same runtimeconfig (same GC settings). No sidecar
/// runs: the outbox relay's publishes of the status events fail and back off. Prints figures and ratios.
/// </summary>
internal static class Orchestrator
{
    private const int Recipients = 100_000;
    private const int BatchSize = 1_000;

    // Throttling is not what this benchmark measures: the SMS bucket gets a limit it never reaches.
    private const string SmsRatePerSecond = "1000000000";
    private const string ClaimBatchSize = "1000";

    public static async Task<int> RunAsync(string[] args)
    {
        var recipients = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : Recipients;
        Console.WriteLine($"notifications benchmark: {recipients:N0} recipients in batches of {BatchSize:N0}, {Environment.ProcessorCount} cores");
        Console.WriteLine($"runtime settings of both measured processes (same runtimeconfig and environment): server GC {System.Runtime.GCSettings.IsServerGC}, GC ConserveMemory {AppContext.GetData("System.GC.ConserveMemory") ?? "0"}, GC latency mode {System.Runtime.GCSettings.LatencyMode} (Interactive = concurrent GC), tiered compilation {AppContext.GetData("System.Runtime.TieredCompilation") ?? "default (on)"}, DOTNET_ variables: {string.Join(' ', Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("DOTNET_gc", StringComparison.OrdinalIgnoreCase) || k.StartsWith("DOTNET_GC", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}").DefaultIfEmpty("none"))}");
        Console.WriteLine($"throttling: Notifications__SmsRatePerSecond={SmsRatePerSecond} (never reached: not what is measured), Notifications__ClaimBatchSize={ClaimBatchSize}");

        // redis-benchmark's XADD rate swings by a third from one run to the next on this shared box, so the
        // baseline and the service are measured in interleaved rounds (a fresh service each round) and
        // the median ratio is the figure; every round is printed.
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var e2eRatios = new List<double>();
        var intakeRatios = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            var xadd = await RedisXaddRateAsync();
            var run = await RunServiceAsync(recipients, measureMemory: round == rounds);
            e2eRatios.Add(run.HandedRate / xadd);
            intakeRatios.Add(run.WriteRate / xadd);
            Console.WriteLine($"round {round} (load average {load}):");
            Console.WriteLine($"  raw redis-benchmark XADD:            {xadd,12:N0} ops/s");
            Console.WriteLine($"  delivery records written (intake):   {run.WriteRate,12:N0} records/s  ({recipients / run.WriteRate:N2} s)");
            Console.WriteLine($"  written + handed to sink provider:   {run.HandedRate,12:N0} messages/s ({recipients / run.HandedRate:N2} s)");
            Console.WriteLine($"  notifications CPU until handed:      {run.CpuSeconds,12:N2} s      ({run.CpuSeconds * 1e6 / recipients:N0} us per recipient; machine load shows here less than in rates)");
            Console.WriteLine($"  status trail published (outbox) at:  {run.TrailPublishedSeconds,12:N2} s");
            Console.WriteLine($"  ratio end-to-end / raw XADD:         {run.HandedRate / xadd,12:N2}");
            Console.WriteLine($"  ratio intake / raw XADD:             {run.WriteRate / xadd,12:N2}");
            if (run.Memory is { } memory)
            {
                Console.WriteLine(memory);
            }
        }

        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        Console.WriteLine($"ratio end-to-end / raw XADD per round: {string.Join(", ", e2eRatios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}; median {Median(e2eRatios):0.00}   (target >= 0.50)");
        Console.WriteLine($"ratio intake / raw XADD per round:     {string.Join(", ", intakeRatios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}; median {Median(intakeRatios):0.00}");
        return 0;
    }

    private sealed record ServiceRun(double WriteRate, double HandedRate, double CpuSeconds, double TrailPublishedSeconds, string? Memory);

    /// <summary>One request of <paramref name="recipients"/> through a fresh notifications process; with
    /// <paramref name="measureMemory"/>, its RSS after the run against the bare apps' (as text).</summary>
    private static async Task<ServiceRun> RunServiceAsync(int recipients, bool measureMemory)
    {
        using var dataDir = new TempDirectory("notif-bench");
        var httpPort = FreePort.Next();
        using var service = Start("serve-notifications", new Dictionary<string, string>
        {
            ["APP_PORT"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GRPC_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["DATA_DIR"] = dataDir.Path,
            ["DAPR_GRPC_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["DAPR_HTTP_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Error",
            ["Notifications__SmsRatePerSecond"] = SmsRatePerSecond,
            ["Notifications__ClaimBatchSize"] = ClaimBatchSize,
        });
        var baseUri = new Uri($"http://127.0.0.1:{httpPort}");
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(5) };
        await WaitHealthyAsync(http, "/healthz");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var idleRss = RssBreakdown(service.Id);

        var batches = BuildBatches(recipients);
        var cpuBefore = CpuSeconds(service.Id);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (body, ct) =>
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/cloudevents+json");
            using var response = await http.PostAsync(new Uri($"/events/{Topics.NotificationRequested}", UriKind.Relative), content, ct);
            response.EnsureSuccessStatusCode();
        });
        var written = clock.Elapsed;
        while (long.Parse(await http.GetStringAsync(new Uri("/bench/handed", UriKind.Relative)), CultureInfo.InvariantCulture) < recipients)
        {
            await Task.Delay(10);
        }

        var handed = clock.Elapsed;
        var cpuUsed = CpuSeconds(service.Id) - cpuBefore;
        // The run is over once its status trail is published too (NotificationStatusChanged events written to the outbox):
        // memory is measured then, 2 s later, not while the service is still working through the run.
        var published = Stopwatch.StartNew();
        while (published.Elapsed < TimeSpan.FromMinutes(2)
            && long.Parse(await http.GetStringAsync(new Uri("/bench/trail-pending", UriKind.Relative)), CultureInfo.InvariantCulture) > 0)
        {
            await Task.Delay(50);
        }

        var trailPublished = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var serviceRss = RssMb(service.Id);
        var serviceRssParts = RssBreakdown(service.Id);
        var serviceMemory = await http.GetStringAsync(new Uri("/bench/memory", UriKind.Relative));
        var topMappings = TopMappings(service.Id);

        service.Kill(entireProcessTree: true);
        await service.WaitForExitAsync();
        var run = new ServiceRun(recipients / written.TotalSeconds, recipients / handed.TotalSeconds, cpuUsed, trailPublished.TotalSeconds, null);
        if (!measureMemory)
        {
            return run;
        }

        var (bareRss, bareRssParts) = await BareAppRssAsync("serve-bare");
        var (slimRss, slimRssParts) = await BareAppRssAsync("serve-bare-slim");
        return run with
        {
            Memory = $"""
              RSS notifications after the run:     {serviceRss,12:N0} MB    (2 s after the trail was published)
                notifications RSS before the run: {idleRss}; after: {serviceRssParts}
                notifications managed memory after: {serviceMemory}
                notifications RSS by mapping after (top): {topMappings}
              RSS bare ASP.NET Core gRPC app:      {bareRss,12:N0} MB    (as dotnet new grpc: CreateBuilder, AddGrpc, health service; warmed with 1,000 calls)
                bare app RSS: {bareRssParts}; with CreateSlimBuilder instead: {slimRssParts}
              ratio RSS notifications / bare:      {serviceRss / bareRss,12:N2}   (target <= 2.00)
              ratio RSS notifications / slim bare: {serviceRss / slimRss,12:N2}
            """,
        };
    }

    /// <summary>Starts a bare gRPC app (same runtimeconfig and environment as the service), warms it with
    /// 1,000 health calls, and returns its RSS.</summary>
    private static async Task<(double Rss, string Parts)> BareAppRssAsync(string mode)
    {
        var grpcPort = FreePort.Next();
        using var bare = Start(mode, new Dictionary<string, string> { ["GRPC_PORT"] = grpcPort.ToString(CultureInfo.InvariantCulture), ["Logging__LogLevel__Default"] = "Warning" });
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var health = new Health.HealthClient(channel);
            for (var i = 0; ; i++)
            {
                try
                {
                    for (var j = 0; j < 1000; j++)
                    {
                        await health.CheckAsync(new HealthCheckRequest());
                    }

                    break;
                }
                catch (global::Grpc.Core.RpcException) when (i < 100)
                {
                    await Task.Delay(100);
                }
            }

            return (RssMb(bare.Id), RssBreakdown(bare.Id));
        }
        finally
        {
            bare.Kill(entireProcessTree: true);
            await bare.WaitForExitAsync();
        }
    }

    private static List<string> BuildBatches(int recipients)
    {
        var now = DateTimeOffset.UtcNow;
        var count = (recipients + BatchSize - 1) / BatchSize;
        return Enumerable.Range(0, count).Select(b =>
        {
            var request = new NotificationRequested
            {
                EventId = Guid.NewGuid().ToString(),
                Source = "consular",
                SourceAlertId = "bench-alert",
                AlertVersion = 1,
                BatchIndex = b,
                BatchCount = count,
                Priority = Priority.Urgent,
                ExpiresAt = Timestamp.FromDateTimeOffset(now.AddHours(6)),
                RequestedAt = Timestamp.FromDateTimeOffset(now),
                Action = NotificationAction.Deliver,
            };
            request.Messages.Add(new LocalizedMessage { Language = Language.Fr, Subject = "Niveau 4", Body = "Quittez le pays par les moyens commerciaux disponibles." });
            request.Messages.Add(new LocalizedMessage { Language = Language.En, Subject = "Level 4", Body = "Leave the country by available commercial means." });
            for (var i = b * BatchSize; i < Math.Min(recipients, (b + 1) * BatchSize); i++)
            {
                var recipient = new Recipient { RecipientId = $"reg-{i}", Language = i % 3 == 0 ? Language.En : Language.Fr };
                recipient.Addresses.Add(new ChannelAddress { Channel = Channel.Sms, Address = $"+3360{i:D7}" });
                recipient.Addresses.Add(new ChannelAddress { Channel = Channel.Email, Address = $"person{i}@example.org" });
                request.Recipients.Add(recipient);
            }

            return $$"""
                {"specversion":"1.0","id":"{{request.EventId}}","source":"consular","type":"{{NotificationRequested.Descriptor.FullName}}","datacontenttype":"application/json","topic":"{{Topics.NotificationRequested}}","pubsubname":"{{Topics.PubSub}}","data":{{ProtoJson.Format(request)}}}
                """;
        }).ToList();
    }

    private static async Task<double> RedisXaddRateAsync()
    {
        var port = FreePort.Next();
        using var dir = new TempDirectory("notif-bench-redis");
        using var redis = Process.Start(new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.Path },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (i < 100)
                {
                    await Task.Delay(50);
                }
            }

            using var bench = Process.Start(new ProcessStartInfo("redis-benchmark")
            {
                // redis-benchmark 7.0 has no built-in xadd test: the same XADD '*' a Dapr pubsub.redis publish does, 50 clients.
                ArgumentList = { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-n", "100000", "-q", "--csv", "XADD", "bench-stream", "*", "data", "payload" },
                RedirectStandardOutput = true,
                UseShellExecute = false,
            })!;
            var output = await bench.StandardOutput.ReadToEndAsync();
            await bench.WaitForExitAsync();
            var line = output.Split('\n').First(l => l.StartsWith("\"XADD", StringComparison.Ordinal));
            return double.Parse(line.Split(',')[1].Trim('"'), CultureInfo.InvariantCulture);
        }
        finally
        {
            redis.Kill();
            await redis.WaitForExitAsync();
        }
    }

    private static Process Start(string mode, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = false };
        info.ArgumentList.Add(typeof(Orchestrator).Assembly.Location);
        info.ArgumentList.Add(mode);
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return Process.Start(info)!;
    }

    private static async Task WaitHealthyAsync(HttpClient http, string path)
    {
        for (var i = 0; i < 600; i++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Starting.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("service did not start");
    }

    /// <summary>User + system CPU time of a process so far (Linux /proc; clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>RSS split: anonymous (heaps), file-backed (mapped assemblies and libraries), shared (JIT code double mapping).</summary>
    private static string RssBreakdown(int pid)
    {
        var status = File.ReadLines($"/proc/{pid}/status").ToList();
        string Mb(string key) => (double.Parse(status.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).ToString("N0", CultureInfo.InvariantCulture);
        return $"{Mb("VmRSS:")} MB = anon {Mb("RssAnon:")} + file {Mb("RssFile:")} + shmem {Mb("RssShmem:")}";
    }

    /// <summary>RSS summed by mapping name from /proc/PID/smaps (anonymous mappings as [anon]), largest first.</summary>
    private static string TopMappings(int pid)
    {
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        var name = "[anon]";
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && parts[0].Contains('-', StringComparison.Ordinal) && !parts[0].EndsWith(':'))
            {
                name = parts.Length >= 6 ? Path.GetFileName(string.Join(' ', parts[5..])) : "[anon]";
                name = name.Length == 0 ? string.Join(' ', parts[5..]) : name;
            }
            else if (parts.Length >= 2 && parts[0] == "Rss:")
            {
                byName[name] = byName.GetValueOrDefault(name) + long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        return string.Join(", ", byName.OrderByDescending(kv => kv.Value).Take(8).Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value / 1024.0:N1} MB")));
    }

    private static double RssMb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
