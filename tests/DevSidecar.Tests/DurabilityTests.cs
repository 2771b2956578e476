using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Dapr.Client;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// DAPR-CONTRACT.md §6 under crashes: kill -9 of the subscriber's sidecar, the subscriber app or
/// redis-server (append-only file) mid-stream; every message is still delivered and no entry is
/// acknowledged before the app handled it.
/// </summary>
public sealed class DurabilityTests
{
    private const int Count = 150;

    [Theory]
    [InlineData("sidecar")]
    [InlineData("app")]
    [InlineData("redis")]
    [InlineData("bulk-app")]
    public async Task KillMinus9_MidStream_EveryMessageIsStillDelivered_NoneAckedBeforeSuccess(string victim)
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true);
        var db = (await redis.ConnectAsync()).GetDatabase();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint, PubSubFixture.PubSub, new Dictionary<string, string>
        {
            // A bulk entry's processing timeout runs while it waits for its whole batch (as on daprd), and the
            // bulk app records ten entries with an fsync each per batch: 1 s was too short on a loaded CI box,
            // every batch timed out, nothing was ever acknowledged and the run never reached its kill point.
            ["processingTimeout"] = victim == "bulk-app" ? "5s" : "1s",
            ["redeliverInterval"] = "300ms",
        });
        using var work = new TempDirectory();
        var record = Path.Combine(work.Path, "handled.txt");
        var appPort = FreePort.Next();
        // "bulk-app": the subscriber has a bulk subscription and is killed with a batch half recorded.
        var mode = victim == "bulk-app" ? "bulk-subscriber" : "subscriber";
        // The bulk app stops mid-batch once it has recorded 40 entries, until it is killed; its restart does not.
        var app = StartSubscriberProcess(mode, appPort, record, holdAfter: victim == "bulk-app" ? Count / 5 + 10 : null);
        await using var publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "pub", ResourcesPaths = [resources.Path] });
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "durable-sub", AppPort = appPort, ResourcesPaths = [resources.Path],
        });
        try
        {
            await sidecar.WaitForAppAsync(TimeSpan.FromSeconds(60));
            using var client = new DaprClientBuilder().UseGrpcEndpoint(publisher.GrpcEndpoint).UseHttpEndpoint(publisher.HttpEndpoint).Build();
            var ids = Enumerable.Range(0, Count).Select(i => $"m{i:000}").ToList();
            await client.BulkPublishEventAsync(PubSubFixture.PubSub, DurableSubscriber.Topic, ids.Select(id => new Payload(id)).ToList());

            try
            {
                await Eventually.TrueAsync(
                    async () => Handled(record).Count >= Count / 5 && await AcknowledgedAsync(db) > 0 && (victim != "bulk-app" || await MidBatchAsync(db, record)),
                    because: "some deliveries acknowledged before the kill (bulk: and a batch handled in part)");
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; handled {Handled(record).Count}, acknowledged {await AcknowledgedAsync(db)}, pending {(await PendingIdsAsync(db)).Count}", e);
            }
            switch (victim)
            {
                case "sidecar":
                    await sidecar.KillAsync();
                    await AssertNothingAckedUnhandledAsync(db, record);
                    await sidecar.RestartAsync();
                    break;
                case "app" or "bulk-app":
                    app.Kill();
                    await app.WaitForExitAsync();
                    await AssertNothingAckedUnhandledAsync(db, record);
                    app.Dispose();
                    app = StartSubscriberProcess(mode, appPort, record);
                    break;
                default:
                    await redis.KillAsync();
                    await redis.RestartAsync();
                    await Eventually.TrueAsync(async () => await ReachableAsync(db), because: "the test's connection back after the restart");
                    await AssertNothingAckedUnhandledAsync(db, record);
                    break;
            }

            await Eventually.TrueAsync(() => ids.All(Handled(record).Contains), TimeSpan.FromSeconds(90), $"all {Count} handled after killing the {victim}");
            await Eventually.TrueAsync(async () => (long)((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", DurableSubscriber.Topic, "durable-sub"))!)[0] == 0);
        }
        finally
        {
            if (!app.HasExited)
            {
                app.Kill();
            }

            app.Dispose();
        }
    }

    /// <summary>
    /// Every acknowledged entry was recorded by the app: unacked = pending ∪ never delivered. Redis is
    /// read first: the app records before it answers, the sidecar acknowledges after the answer.
    /// </summary>
    private static async Task AssertNothingAckedUnhandledAsync(StackExchange.Redis.IDatabase db, string record)
    {
        // Order matters while the sidecar runs: an entry at or below last-delivered-id that is not
        // pending a moment later was acknowledged, hence recorded before the file is read last.
        var groups = await db.StreamGroupInfoAsync(DurableSubscriber.Topic);
        var lastDelivered = groups.Single(g => g.Name == "durable-sub").LastDeliveredId!;
        var pending = await PendingIdsAsync(db);
        var entries = await db.StreamRangeAsync(DurableSubscriber.Topic);
        var handled = Handled(record);
        var acknowledged = 0;
        foreach (var entry in entries)
        {
            var delivered = CompareIds(entry.Id!, lastDelivered) <= 0;
            if (delivered && !pending.Contains(entry.Id!))
            {
                var id = (string)JsonNode.Parse((string)entry["data"]!)!["data"]!["id"]!;
                Assert.Contains(id, handled);
                acknowledged++;
            }
        }

        Assert.True(acknowledged > 0, "the check saw no acknowledged entry");
    }

    /// <summary>True when an entry the app recorded is still pending: a batch is in the app's hands, answered or not.</summary>
    private static async Task<bool> MidBatchAsync(StackExchange.Redis.IDatabase db, string record)
    {
        var pending = await PendingIdsAsync(db);
        var handled = Handled(record);
        var entries = await db.StreamRangeAsync(DurableSubscriber.Topic);
        return entries.Any(e => pending.Contains(e.Id!)
            && handled.Contains((string)JsonNode.Parse((string)e["data"]!)!["data"]!["id"]!));
    }

    private static async Task<HashSet<string>> PendingIdsAsync(StackExchange.Redis.IDatabase db) =>
        ((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", DurableSubscriber.Topic, "durable-sub", "-", "+", 10000))!)
            .Select(p => (string)((StackExchange.Redis.RedisResult[])p!)[0]!).ToHashSet();

    /// <summary>Entries of the group delivered and acknowledged so far (Redis 7: entries-read − pending).</summary>
    private static async Task<long> AcknowledgedAsync(StackExchange.Redis.IDatabase db)
    {
        var groups = await db.StreamGroupInfoAsync(DurableSubscriber.Topic);
        var group = groups.Single(g => g.Name == "durable-sub");
        return (group.EntriesRead ?? 0) - group.PendingMessageCount;
    }

    private static async Task<bool> ReachableAsync(StackExchange.Redis.IDatabase db)
    {
        try
        {
            await db.PingAsync();
            return true;
        }
        catch (StackExchange.Redis.RedisConnectionException)
        {
            return false;
        }
    }

    private static int CompareIds(string a, string b)
    {
        static (long, long) Parse(string id)
        {
            var parts = id.Split('-');
            return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        return Parse(a).CompareTo(Parse(b));
    }

    private static HashSet<string> Handled(string record)
    {
        try
        {
            using var stream = new FileStream(record, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return [.. reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    private static Process StartSubscriberProcess(string mode, int port, string record, int? holdAfter = null)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(typeof(DurableSubscriber).Assembly.Location);
        info.ArgumentList.Add(mode);
        info.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(record);
        if (holdAfter is { } hold)
        {
            info.ArgumentList.Add(hold.ToString(CultureInfo.InvariantCulture));
        }

        var process = Process.Start(info)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
